package numbergen

import (
	"errors"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
)

func TestNumberGen(t *testing.T) {
	out, err := Call(contract.OpNumberGenRandomInRange, (&contract.RangeLimit{Min: 5, Max: 7}).AppendMsgpack(nil))
	if err != nil {
		t.Fatal(err)
	}
	v, err := contract.UnmarshalU32(out)
	if err != nil || v < 5 || v > 7 {
		t.Fatalf("RandomInRange = %d, %v", v, err)
	}
	if _, err := Call(contract.OpNumberGenRandomInRange, (&contract.RangeLimit{Min: 7, Max: 5}).AppendMsgpack(nil)); !errors.Is(err, ErrRange) {
		t.Fatalf("min above max: %v", err)
	}
	out, _ = Call(contract.OpNumberGenGenerateGuid, nil)
	if g, err := contract.UnmarshalString(out); err != nil || len(g) != 36 {
		t.Fatalf("GUID %q, %v", g, err)
	}
	if _, err := Call("NumberGen.Nope", nil); !errors.Is(err, ErrUnknownOperation) {
		t.Fatalf("unknown operation: %v", err)
	}
}

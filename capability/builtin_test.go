package capability

import "testing"

// The built-in providers' keys are part of the user contract (README): they must never change.
func TestBuiltinKeysAreStable(t *testing.T) {
	for got, want := range map[string]string{
		BuiltinHTTPServer: "VCF5SU6YJF4VOJX65JHPTP75IBN422J3YXXPCRHP3AVJ5QYBFODRSMLQ",
		BuiltinKeyValue:   "VAMPSNGKTNNUY5FVT2JJHCLVTLVFHDOTFCIGM32VHIMTPY2YTCH6NESC",
		BuiltinMessaging:  "VAVJ2JVMYS4N4QGOVWB7YALBHIP54B7AH3X5HDSTWGRQGOKZIDG4YLXS",
	} {
		if got != want {
			t.Errorf("built-in provider key %s, want %s", got, want)
		}
	}
}

func TestHostLocal(t *testing.T) {
	for contract, want := range map[string]bool{
		"wasmcloud:builtin:logging": true, "wasmcloud:builtin:numbergen": true,
		"wasmcloud:keyvalue": false, "wasmcloud:httpserver": false, "wasmcloud:builtinx": false,
	} {
		if got := HostLocal(contract); got != want {
			t.Errorf("HostLocal(%q) = %v, want %v", contract, got, want)
		}
	}
}

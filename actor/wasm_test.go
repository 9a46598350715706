package actor

// A tiny WebAssembly assembler for the test guests: just enough encoding to build modules that
// misbehave on purpose (loop, grow memory, trap, pass bad pointers) without a toolchain.

import "fmt"

// Value types and opcodes used by the test guests.
const (
	tI32 = 0x7f

	opUnreachable = 0x00
	opBlock       = 0x02
	opLoop        = 0x03
	opIf          = 0x04
	opEnd         = 0x0b
	opBr          = 0x0c
	opBrIf        = 0x0d
	opBrTable     = 0x0e
	opReturn      = 0x0f
	opCall        = 0x10
	opDrop        = 0x1a
	opLocalGet    = 0x20
	opLocalSet    = 0x21
	opI32Load8U   = 0x2d
	opMemoryGrow  = 0x40
	opI32Const    = 0x41
	opI32Ne       = 0x47
	opI32Add      = 0x6a
	opI32Sub      = 0x6b
	blockEmpty    = 0x40
)

func uleb(v uint64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

func sleb(v int64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func wasmName(s string) []byte { return append(uleb(uint64(len(s))), s...) }

func wasmVec(items ...[]byte) []byte {
	b := uleb(uint64(len(items)))
	for _, it := range items {
		b = append(b, it...)
	}
	return b
}

func wasmSection(id byte, content []byte) []byte {
	return append(append([]byte{id}, uleb(uint64(len(content)))...), content...)
}

// i32c encodes i32.const v.
func i32c(v int32) []byte { return append([]byte{opI32Const}, sleb(int64(v))...) }

// call encodes a call of function idx.
func call(idx uint32) []byte { return append([]byte{opCall}, uleb(uint64(idx))...) }

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

type funcType struct{ params, results []byte }

func (t funcType) encode() []byte {
	return cat([]byte{0x60}, wasmVec(bytesOf(t.params)...), wasmVec(bytesOf(t.results)...))
}

func bytesOf(ts []byte) [][]byte {
	out := make([][]byte, len(ts))
	for i, t := range ts {
		out[i] = []byte{t}
	}
	return out
}

type wasmImport struct {
	module, name string
	typ          funcType
}

type wasmFunc struct {
	export string // export name, "" for none
	typ    funcType
	locals int // extra i32 locals
	body   []byte
}

// wasmModule describes a module to assemble.
type wasmModule struct {
	imports   []wasmImport
	funcs     []wasmFunc
	memMin    uint32
	memMax    *uint32
	noMemory  bool   // define no memory at all
	memExport string // export name of the memory, "" for none
	data      map[uint32]string
}

func (m wasmModule) assemble() []byte {
	var types [][]byte
	typeIdx := map[string]int{}
	idx := func(t funcType) []byte {
		k := fmt.Sprint(t.params, t.results)
		i, ok := typeIdx[k]
		if !ok {
			i = len(types)
			typeIdx[k] = i
			types = append(types, t.encode())
		}
		return uleb(uint64(i))
	}
	var imports, funcs, exports, codes [][]byte
	for _, im := range m.imports {
		imports = append(imports, cat(wasmName(im.module), wasmName(im.name), []byte{0x00}, idx(im.typ)))
	}
	for i, f := range m.funcs {
		funcs = append(funcs, idx(f.typ))
		if f.export != "" {
			exports = append(exports, cat(wasmName(f.export), []byte{0x00}, uleb(uint64(len(m.imports)+i))))
		}
		var locals []byte
		if f.locals > 0 {
			locals = wasmVec(cat(uleb(uint64(f.locals)), []byte{tI32}))
		} else {
			locals = wasmVec()
		}
		body := cat(locals, f.body, []byte{opEnd})
		codes = append(codes, cat(uleb(uint64(len(body))), body))
	}
	if !m.noMemory && m.memExport != "" {
		exports = append(exports, cat(wasmName(m.memExport), []byte{0x02, 0x00}))
	}

	out := []byte("\x00asm\x01\x00\x00\x00")
	out = append(out, wasmSection(1, wasmVec(types...))...)
	if len(imports) > 0 {
		out = append(out, wasmSection(2, wasmVec(imports...))...)
	}
	out = append(out, wasmSection(3, wasmVec(funcs...))...)
	if !m.noMemory {
		lim := cat([]byte{0x00}, uleb(uint64(m.memMin)))
		if m.memMax != nil {
			lim = cat([]byte{0x01}, uleb(uint64(m.memMin)), uleb(uint64(*m.memMax)))
		}
		out = append(out, wasmSection(5, wasmVec(lim))...)
	}
	out = append(out, wasmSection(7, wasmVec(exports...))...)
	out = append(out, wasmSection(10, wasmVec(codes...))...)
	if len(m.data) > 0 {
		var segs [][]byte
		for off, s := range m.data {
			segs = append(segs, cat([]byte{0x00}, i32c(int32(off)), []byte{opEnd}, wasmName(s)))
		}
		out = append(out, wasmSection(11, wasmVec(segs...))...)
	}
	return out
}

// dispatch builds a br_table switch: selector leaves an index on the stack; cases[i] runs for index
// i and must end in return or a trap; def runs for any other index.
func dispatch(selector []byte, cases [][]byte, def []byte) []byte {
	var b []byte
	for range len(cases) + 1 {
		b = append(b, opBlock, blockEmpty)
	}
	b = append(b, selector...)
	b = append(b, opBrTable)
	b = append(b, uleb(uint64(len(cases)))...)
	for i := range cases {
		b = append(b, uleb(uint64(i))...)
	}
	b = append(b, uleb(uint64(len(cases)))...)
	for _, c := range cases {
		b = append(b, opEnd)
		b = append(b, c...)
	}
	b = append(b, opEnd)
	return append(b, def...)
}

// Function indices of the imports every test guest declares, in this order.
const (
	fnGuestRequest = iota
	fnGuestResponse
	fnGuestError
	fnHostCall
	fnHostResponseLen
	fnHostResponse
	fnHostErrorLen
	fnHostError
	fnConsoleLog
	fnProcExit
	numImports
)

var (
	typeII   = funcType{params: []byte{tI32, tI32}}
	typeIII  = funcType{params: []byte{tI32, tI32}, results: []byte{tI32}}
	typeHost = funcType{params: []byte{tI32, tI32, tI32, tI32, tI32, tI32, tI32, tI32}, results: []byte{tI32}}
	typeToI  = funcType{results: []byte{tI32}}
	typeI    = funcType{params: []byte{tI32}}
	typeNone = funcType{}
)

func abiImports(module string) []wasmImport {
	return []wasmImport{
		{module, "__guest_request", typeII},
		{module, "__guest_response", typeII},
		{module, "__guest_error", typeII},
		{module, "__host_call", typeHost},
		{module, "__host_response_len", typeToI},
		{module, "__host_response", typeI},
		{module, "__host_error_len", typeToI},
		{module, "__host_error", typeI},
		{module, "__console_log", typeII},
		{"wasi_snapshot_preview1", "proc_exit", typeI},
	}
}

// Memory layout of the test guest.
const (
	tgOp       = 0     // operation bytes
	tgBinding  = 100   // "default"
	tgNS       = 110   // "test:ns"
	tgHostOp   = 120   // "Test.Op"
	tgUnknown  = 200   // "unknown operation"
	tgPayload  = 1024  // request payload
	tgHostData = 65536 // host response or error (second page)
)

// testGuestOps are the operations of the test guest. It dispatches on the first byte of the
// operation: 'a' is case 0, 'b' case 1, and so on.
const (
	opEcho        = "a.echo"          // respond with the payload
	opLoopForever = "b.loop"          // spin until the deadline
	opGrowForever = "c.grow"          // grow memory until it fails, then trap
	opTrap        = "d.trap"          // unreachable
	opBadPointer  = "e.badptr"        // __guest_response with an out-of-range pointer
	opFailSilent  = "f.fail"          // return 0 without a guest error
	opHostCall    = "g.hostcall"      // host call; respond with its reply, or report its error
	opIgnoreHost  = "h.ignorehosterr" // host call; ignore its result, respond empty
	opHugeError   = "i.hugeerror"     // __guest_error with a 32 MiB length
	opLog         = "j.log"           // __console_log the payload, respond empty
	opStrayRead   = "k.strayread"     // __host_response without a host call
)

// testGuestError is what the test guest reports for an unknown operation.
const testGuestError = "unknown operation"

// testGuest assembles the misbehaving guest. start, if not nil, becomes the body of an exported
// `_start`; module selects the ABI import module ("wasmbus" or "wapc").
func testGuest(module string, start []byte) []byte {
	const (
		lOpLen, lPayloadLen, lN = 0, 1, 2
	)
	hostCallArgs := cat(i32c(tgBinding), i32c(7), i32c(tgNS), i32c(7), i32c(tgHostOp), i32c(7),
		i32c(tgPayload), []byte{opLocalGet, lPayloadLen}, call(fnHostCall))
	ret1 := cat(i32c(1), []byte{opReturn})
	cases := [][]byte{
		// a: echo
		cat(i32c(tgPayload), []byte{opLocalGet, lPayloadLen}, call(fnGuestResponse), ret1),
		// b: loop forever
		{opLoop, blockEmpty, opBr, 0, opEnd, opUnreachable},
		// c: grow by 16 pages until memory.grow returns -1, then trap like an aborting allocator
		cat([]byte{opLoop, blockEmpty}, i32c(16), []byte{opMemoryGrow, 0}, i32c(-1), []byte{opI32Ne, opBrIf, 0, opEnd, opUnreachable}),
		// d: trap
		{opUnreachable},
		// e: out-of-range pointer
		cat(i32c(-256), i32c(512), call(fnGuestResponse), ret1),
		// f: return 0 without a guest error
		cat(i32c(0), []byte{opReturn}),
		// g: host call, then respond with the reply or report the error
		cat(hostCallArgs, []byte{opIf, blockEmpty},
			call(fnHostResponseLen), []byte{opLocalSet, lN},
			i32c(tgHostData), call(fnHostResponse),
			i32c(tgHostData), []byte{opLocalGet, lN}, call(fnGuestResponse), ret1,
			[]byte{opEnd},
			call(fnHostErrorLen), []byte{opLocalSet, lN},
			i32c(tgHostData), call(fnHostError),
			i32c(tgHostData), []byte{opLocalGet, lN}, call(fnGuestError),
			i32c(0), []byte{opReturn}),
		// h: host call, result ignored
		cat(hostCallArgs, []byte{opDrop}, i32c(tgPayload), i32c(0), call(fnGuestResponse), ret1),
		// i: oversized guest error
		cat(i32c(0), i32c(32<<20), call(fnGuestError), ret1),
		// j: console log
		cat(i32c(tgPayload), []byte{opLocalGet, lPayloadLen}, call(fnConsoleLog),
			i32c(tgPayload), i32c(0), call(fnGuestResponse), ret1),
		// k: __host_response with nothing to copy
		cat(i32c(tgHostData), call(fnHostResponse), ret1),
	}
	guestCall := cat(
		i32c(tgOp), i32c(tgPayload), call(fnGuestRequest),
		dispatch(cat(i32c(tgOp), []byte{opI32Load8U, 0, 0}, i32c('a'), []byte{opI32Sub}), cases,
			cat(i32c(tgUnknown), i32c(int32(len(testGuestError))), call(fnGuestError), i32c(0))),
	)
	m := wasmModule{
		imports: abiImports(module),
		funcs: []wasmFunc{
			{export: "__guest_call", typ: typeIII, locals: 1, body: guestCall},
			{export: "add", typ: typeIII, body: []byte{opLocalGet, 0, opLocalGet, 1, opI32Add}},
		},
		memMin:    2,
		memExport: "memory",
		data: map[uint32]string{
			tgBinding: "default", tgNS: "test:ns", tgHostOp: "Test.Op", tgUnknown: testGuestError,
		},
	}
	if start != nil {
		m.funcs = append(m.funcs, wasmFunc{export: "_start", typ: typeNone, body: start})
	}
	return m.assemble()
}

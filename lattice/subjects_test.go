package lattice

import "testing"

// The subjects are the wire contract with 0.x hosts and tools: each builder against its literal spelling.
func TestSubjects(t *testing.T) {
	const host = "NBZ5"
	c := NewCtlSubjects("wasmbus.ctl", "default")
	tests := []struct {
		name, got, want string
	}{
		{"rpc", RPCSubject("default", echoKey), "wasmbus.rpc.default." + echoKey},
		{"rpc wildcard", RPCWildcard("default"), "wasmbus.rpc.default.>"},
		{"provider rpc", ProviderRPCSubject("default", "VABC", "default"), "wasmbus.rpc.default.VABC.default"},
		{"events", EventSubject("default"), "wasmbus.evt.default"},
		{"named event", NamedEventSubject("default", "actors_started"), "wasmbus.evt.default.actors_started"},
		{"bucket", DataBucket("default"), "LATTICEDATA_default"},
		{"object store", ObjectStore("default"), "default"},
		{"once bucket", OnceBucket("default"), "WASMCLOUD_ONCE_default"},
		{"once subjects", OnceSubjects("default"), "$KV.WASMCLOUD_ONCE_default.>"},
		{"ctl base", c.Base(), "wasmbus.ctl.default"},
		{"ping", c.PingHosts(), "wasmbus.ctl.default.ping.hosts"},
		{"auction", c.Auction(), "wasmbus.ctl.default.auction.actor"},
		{"claims", c.Claims(), "wasmbus.ctl.default.get.claims"},
		{"links", c.Links(), "wasmbus.ctl.default.get.links"},
		{"link put", c.LinkPut(), "wasmbus.ctl.default.linkdefs.put"},
		{"link del", c.LinkDel(), "wasmbus.ctl.default.linkdefs.del"},
		{"registries", c.Registries(), "wasmbus.ctl.default.registries.put"},
		{"inventory", c.Inventory(host), "wasmbus.ctl.default.get.NBZ5.inv"},
		{"start actor", c.Command(host, CmdStartActor), "wasmbus.ctl.default.cmd.NBZ5.la"},
		{"stop actor", c.Command(host, CmdStopActor), "wasmbus.ctl.default.cmd.NBZ5.sa"},
		{"scale actor", c.Command(host, CmdScaleActor), "wasmbus.ctl.default.cmd.NBZ5.scale"},
		{"update actor", c.Command(host, CmdUpdateActor), "wasmbus.ctl.default.cmd.NBZ5.upd"},
		{"stop host", c.Command(host, CmdStopHost), "wasmbus.ctl.default.cmd.NBZ5.stop"},
		{"event type", EventTypePrefix + "host_started", "com.wasmcloud.lattice.host_started"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("%s, want %s", tc.got, tc.want)
			}
		})
	}
}

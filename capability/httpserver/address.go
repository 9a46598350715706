package httpserver

import (
	"net/netip"
	"strconv"
)

// The link value names that carry the address an actor wants its HTTP server on.
const (
	linkAddress = "address"
	linkPort    = "port"
)

// ParseAddress returns the listen address named by an actor's link values, in the normal form
// Bind keys addresses by: "address" is an IP literal and a port ("0.0.0.0:8080", "[::1]:8080"),
// and "port" is a port alone, meaning every IPv4 interface ("0.0.0.0:port"). The port must be
// 1..65535 in both. Setting both is accepted when they name the same address. Host names are
// refused, as 0.x providers refuse them, so a link never depends on name resolution.
//
// Errors wrap ErrNoAddress, or are a *LinkValueError naming the offending value.
func ParseAddress(values map[string]string) (string, error) {
	addrText, hasAddr := values[linkAddress]
	portText, hasPort := values[linkPort]
	var fromAddr, fromPort netip.AddrPort
	if hasAddr {
		ap, err := netip.ParseAddrPort(addrText)
		if err != nil {
			return "", &LinkValueError{Key: linkAddress, Value: addrText, Reason: "want an IP address and a port, such as 0.0.0.0:8080 or [::1]:8080"}
		}
		if ap.Port() == 0 {
			return "", &LinkValueError{Key: linkAddress, Value: addrText, Reason: "port must be 1..65535"}
		}
		fromAddr = ap
	}
	if hasPort {
		p, err := strconv.ParseUint(portText, 10, 16)
		if err != nil || p == 0 {
			return "", &LinkValueError{Key: linkPort, Value: portText, Reason: "want a port number 1..65535"}
		}
		fromPort = netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(p))
	}
	switch {
	case hasAddr && hasPort && fromAddr != fromPort:
		return "", &LinkValueError{Key: linkPort, Value: portText,
			Reason: "disagrees with " + linkAddress + "=" + strconv.Quote(addrText) + "; set one of them"}
	case hasAddr:
		return fromAddr.String(), nil
	case hasPort:
		return fromPort.String(), nil
	}
	return "", ErrNoAddress
}

// addrKey returns the key under which Bind files addr: the normal form of an IP literal and port,
// so that two spellings of one address are one binding, or addr itself (a host name).
func addrKey(addr string) string {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return ap.String()
	}
	return addr
}

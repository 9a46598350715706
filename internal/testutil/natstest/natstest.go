// Package natstest runs real nats-servers in the test process: one server, or a JetStream cluster of several
// on loopback, with helpers to stop and restart a member. It is imported only from _test.go files.
package natstest

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Cluster is a JetStream cluster of in-process servers on loopback. Each member keeps its client port and
// store directory across Stop and Restart, so a restarted member rejoins with its data.
type Cluster struct {
	tb      testing.TB
	name    string
	opts    []*server.Options
	servers []*server.Server // nil while stopped
}

// freePort returns a loopback TCP port nothing listens on right now.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// RunCluster starts n servers with JetStream that form the cluster name, and waits until JetStream has a
// meta leader. The servers stop when the test ends.
func RunCluster(tb testing.TB, name string, n int) *Cluster {
	tb.Helper()
	c := &Cluster{tb: tb, name: name}
	routePorts := make([]int, n)
	for i := range routePorts {
		routePorts[i] = freePort(tb)
	}
	var routes []*url.URL
	for _, p := range routePorts {
		routes = append(routes, &url.URL{Scheme: "nats-route", Host: fmt.Sprintf("127.0.0.1:%d", p)})
	}
	for i := range n {
		c.opts = append(c.opts, &server.Options{
			ServerName: fmt.Sprintf("%s-%d", name, i+1),
			Host:       "127.0.0.1",
			Port:       freePort(tb),
			NoSigs:     true,
			NoLog:      true,
			JetStream:  true,
			StoreDir:   tb.TempDir(),
			Cluster:    server.ClusterOpts{Name: name, Host: "127.0.0.1", Port: routePorts[i]},
			Routes:     routes,
		})
	}
	c.servers = make([]*server.Server, n)
	for i := range n {
		c.Restart(i)
	}
	tb.Cleanup(func() {
		for i := range c.servers {
			c.Stop(i)
		}
	})
	c.WaitJetStream()
	return c
}

// Restart starts member i (again) with its options.
func (c *Cluster) Restart(i int) {
	c.tb.Helper()
	if c.servers[i] != nil {
		return
	}
	opts := *c.opts[i]
	srv, err := server.NewServer(&opts)
	if err != nil {
		c.tb.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(20 * time.Second) {
		srv.Shutdown()
		c.tb.Fatalf("%s not ready", opts.ServerName)
	}
	c.servers[i] = srv
}

// Stop shuts member i down and waits until it has stopped.
func (c *Cluster) Stop(i int) {
	if srv := c.servers[i]; srv != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
		c.servers[i] = nil
	}
}

// Server returns member i, or nil while it is stopped.
func (c *Cluster) Server(i int) *server.Server { return c.servers[i] }

// Len returns the number of members.
func (c *Cluster) Len() int { return len(c.opts) }

// URL returns the client URL of member i (also while it is stopped).
func (c *Cluster) URL(i int) string { return fmt.Sprintf("nats://127.0.0.1:%d", c.opts[i].Port) }

// URLs returns the client URLs of every member, joined with commas.
func (c *Cluster) URLs() string {
	urls := make([]string, c.Len())
	for i := range urls {
		urls[i] = c.URL(i)
	}
	return strings.Join(urls, ",")
}

// Port returns the client port of member i.
func (c *Cluster) Port(i int) int { return c.opts[i].Port }

// WaitJetStream waits until a running member is the JetStream meta leader and every running member is
// current with it.
func (c *Cluster) WaitJetStream() {
	c.tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		leader, current := false, true
		for _, s := range c.servers {
			if s == nil {
				continue
			}
			leader = leader || s.JetStreamIsLeader()
			current = current && s.JetStreamIsCurrent()
		}
		if leader && current {
			return
		}
		if time.Now().After(deadline) {
			c.tb.Fatalf("cluster %s has no current JetStream meta leader after 60 s", c.name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

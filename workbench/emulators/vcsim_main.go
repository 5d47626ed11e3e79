// vcsim for vmwb tests and the demo: govmomi's simulator (VPX model: vCenter, 1 datacenter,
// a cluster, hosts, VMs) served over plain HTTP on a loopback address.
// Built by .ci/install-system-deps.sh in GOPATH mode against Debian's govmomi 0.24 sources,
// because that package ships simulator/ but no vcsim main. Usage: vcsim -l 127.0.0.1:PORT
package main

import (
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/vmware/govmomi/simulator"
)

func main() {
	listen := flag.String("l", "127.0.0.1:8989", "listen address (host:port)")
	flag.Parse()

	model := simulator.VPX()
	if err := model.Create(); err != nil {
		log.Fatal(err)
	}
	// Remove() deletes the /tmp/govcsim-* datastore folders, so we only exit through it.
	defer model.Remove()

	model.Service.Listen = &url.URL{Host: *listen}
	server := model.Service.NewServer()
	defer server.Close()

	// The URL line is the readiness signal for VcsimServer; flush it straight away.
	fmt.Fprintln(os.Stdout, server.URL.String())

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}

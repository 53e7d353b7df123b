// cert-manager-ca runs cert-manager's own controllers for a CA Issuer against a cluster named by a
// kubeconfig: the internal approver, the Issuer controller (which marks a CA Issuer Ready once its
// Secret holds a CA) and the CertificateRequest CA issuer (which signs approved requests). It is what
// cert-manager's controller binary does for these three controllers, built from the published module
// (cmd/controller is not served by the Go module proxy), so that the operator's e2e test runs against
// the real signer instead of a stand-in. Usage: cert-manager-ca --kubeconfig PATH [--namespace NS]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"

	controllerpkg "github.com/cert-manager/cert-manager/pkg/controller"
	"github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	crca "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	"github.com/cert-manager/cert-manager/pkg/controller/issuers"
	// Registers the CA issuer type, which the Issuer controller's setup step needs.
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "path of the kubeconfig (required)")
	namespace := flag.String("namespace", "", "namespace to watch (all when empty)")
	flag.Parse()
	if *kubeconfig == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: cert-manager-ca --kubeconfig PATH [--namespace NS]")
		os.Exit(2)
	}
	if err := run(*kubeconfig, *namespace); err != nil {
		fmt.Fprintf(os.Stderr, "cert-manager-ca: %v\n", err)
		os.Exit(1)
	}
}

func run(kubeconfig, namespace string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx = logf.NewContext(ctx, logf.Log)

	factory, err := controllerpkg.NewContextFactory(ctx, controllerpkg.ContextOptions{
		Kubeconfig:         kubeconfig,
		Namespace:          namespace,
		KubernetesAPIQPS:   20,
		KubernetesAPIBurst: 50,
		IssuerOptions: controllerpkg.IssuerOptions{
			ClusterResourceNamespace: "cert-manager",
		},
	})
	if err != nil {
		return err
	}
	names := []string{approver.ControllerName, issuers.ControllerName, crca.CRControllerName}
	controllers := make(map[string]controllerpkg.Interface, len(names))
	for _, name := range names {
		constructor, ok := controllerpkg.Known()[name]
		if !ok {
			return fmt.Errorf("controller %q is not registered", name)
		}
		controller, err := constructor(factory)
		if err != nil {
			return fmt.Errorf("building controller %q: %w", name, err)
		}
		controllers[name] = controller
	}
	// The controllers registered their informers on the shared factories; start them now, as
	// cert-manager's controller binary does once every controller is built.
	shared, err := factory.Build("cert-manager-ca")
	if err != nil {
		return err
	}
	shared.KubeSharedInformerFactory.Start(ctx.Done())
	shared.SharedInformerFactory.Start(ctx.Done())

	errs := make(chan error, len(controllers))
	var wg sync.WaitGroup
	for name, controller := range controllers {
		wg.Go(func() {
			fmt.Fprintf(os.Stderr, "cert-manager-ca: starting controller %s\n", name)
			if err := controller.Run(2, ctx); err != nil {
				errs <- fmt.Errorf("controller %q: %w", name, err)
				stop()
			}
		})
	}
	fmt.Fprintln(os.Stderr, "cert-manager-ca: running")
	wg.Wait()
	close(errs)
	return <-errs
}

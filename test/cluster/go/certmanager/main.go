// Command certmanager-controller runs cert-manager's controllers for CA and
// SelfSigned issuers against a test control plane.
//
// Upstream's main (cmd/controller) cannot be built from the module proxy: its
// config defaults import the Venafi issuer, whose vcert dependency the proxy
// refuses to serve. So this main uses only the public pkg/ API and sets
// upstream's defaults by hand. ACME, Vault, Venafi, the webhook and cainjector
// are not included; a CA or SelfSigned issuer needs none of them.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sort"
	"sync"
	"syscall"
	"time"

	"k8s.io/klog/v2"

	"github.com/cert-manager/cert-manager/pkg/controller"
	"github.com/cert-manager/cert-manager/pkg/healthz"
	logf "github.com/cert-manager/cert-manager/pkg/logs"

	// Controllers register themselves with controller.Known() in init().
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	_ "github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	_ "github.com/cert-manager/cert-manager/pkg/controller/issuers"

	// Issuer implementations register with the issuer factory in init().
	// Nothing under pkg/controller imports them, and without them the
	// issuers controller never marks an Issuer Ready.
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "path to a kubeconfig (required)")
	namespace := flag.String("namespace", "", "namespace to watch; empty for all")
	clusterNS := flag.String("cluster-resource-namespace", "kube-system",
		"namespace holding Secrets referenced by ClusterIssuers")
	healthzAddr := flag.String("healthz-listen-address", "127.0.0.1:9403",
		"address of the /livez endpoint")
	workers := flag.Int("workers", 5, "workers per controller (upstream's default)")
	klog.InitFlags(nil)
	flag.Parse()
	if *kubeconfig == "" {
		fmt.Fprintln(os.Stderr, "--kubeconfig is required")
		os.Exit(2)
	}
	if err := run(*kubeconfig, *namespace, *clusterNS, *healthzAddr, *workers); err != nil {
		klog.ErrorS(err, "cert-manager controller failed")
		klog.Flush()
		os.Exit(1)
	}
}

func run(kubeconfig, namespace, clusterNS, healthzAddr string, workers int) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx = logf.NewContext(ctx, klog.Background(), "controller")

	factory, err := controller.NewContextFactory(ctx, controller.ContextOptions{
		Kubeconfig: kubeconfig,
		Namespace:  namespace,
		// Upstream's defaults (internal/apis/config/controller/v1alpha1).
		KubernetesAPIQPS:   20,
		KubernetesAPIBurst: 50,
		IssuerOptions: controller.IssuerOptions{
			ClusterResourceNamespace:        clusterNS,
			ClusterIssuerAmbientCredentials: true,
		},
		CertificateOptions: controller.CertificateOptions{
			CertificateRequestMinimumBackoffDuration: time.Hour,
			CertificateRequestMaximumBackoffDuration: 32 * time.Hour,
		},
		SchedulerOptions: controller.SchedulerOptions{MaxConcurrentChallenges: 60},
	})
	if err != nil {
		return fmt.Errorf("building controller context: %w", err)
	}

	// Constructors register informers, so all of them must run before the
	// informer factories start.
	names := make([]string, 0, len(controller.Known()))
	for name := range controller.Known() {
		names = append(names, name)
	}
	sort.Strings(names)
	loops := make([]controller.Interface, 0, len(names))
	for _, name := range names {
		loop, err := controller.Known()[name](factory)
		if err != nil {
			return fmt.Errorf("constructing controller %s: %w", name, err)
		}
		loops = append(loops, loop)
	}

	base, err := factory.Build()
	if err != nil {
		return fmt.Errorf("building base context: %w", err)
	}
	base.SharedInformerFactory.Start(ctx.Done())
	base.KubeSharedInformerFactory.Start(ctx.Done())
	base.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())

	listener, err := net.Listen("tcp", healthzAddr)
	if err != nil {
		return fmt.Errorf("listening for healthz on %s: %w", healthzAddr, err)
	}
	errs := make(chan error, len(loops)+1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// No leader election here, so the adaptor's timeout never applies.
		errs <- healthz.NewServer(20 * time.Second).Start(ctx, listener)
	}()
	for i, loop := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			klog.InfoS("starting controller", "controller", names[i])
			if err := loop.Run(workers, ctx); err != nil {
				errs <- fmt.Errorf("controller %s: %w", names[i], err)
			}
		}()
	}
	klog.InfoS("cert-manager controllers started", "controllers", names)

	// The first failure stops everything; a signal stops everything cleanly.
	select {
	case err = <-errs:
	case <-ctx.Done():
	}
	stop()
	wg.Wait()
	return err
}

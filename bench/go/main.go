// The benchmark workloads with client-go (peer, --peers): rest.InClusterConfig-style
// configuration (host, bearer token file, CA file) with QPS/Burst lifted so the client-side
// rate limiter never throttles. Usage and output as the Rust clients:
// client-go-bench <workload> [n] [in-flight] -> "count=N sum=S".
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func checksum(cm *corev1.ConfigMap) uint64 {
	n := len(cm.Name) + len(cm.ResourceVersion)
	for _, v := range cm.Data {
		n += len(v)
	}
	return uint64(n)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "client-go-bench:", err)
	os.Exit(1)
}

func main() {
	workload := os.Args[1]
	n, inFlight := 1, 1
	if len(os.Args) > 2 {
		n, _ = strconv.Atoi(os.Args[2])
	}
	if len(os.Args) > 3 {
		inFlight, _ = strconv.Atoi(os.Args[3])
	}
	dir := os.Getenv("BENCH_SA_DIR")
	token, err := os.ReadFile(filepath.Join(dir, "token"))
	if err != nil {
		fail(err)
	}
	// What rest.InClusterConfig builds, with the service-account directory of the benchmark.
	config := &rest.Config{
		Host:            os.Getenv("BENCH_SERVER"),
		TLSClientConfig: rest.TLSClientConfig{CAFile: filepath.Join(dir, "ca.crt")},
		BearerToken:     strings.TrimSpace(string(token)),
		BearerTokenFile: filepath.Join(dir, "token"),
		QPS:             1e6,
		Burst:           1e6,
	}
	clientset, err := kubernetes.NewForConfig(config)
	if err != nil {
		fail(err)
	}
	if workload == "scale" {
		count, sum := runScale(config, os.Args[2:])
		fmt.Printf("count=%d sum=%d\n", count, sum)
		return
	}
	api := clientset.CoreV1().ConfigMaps("default")
	ctx := context.Background()
	var count int
	var sum uint64
	switch workload {
	case "get":
		var mu sync.Mutex
		var wg sync.WaitGroup
		next := make(chan int)
		var firstErr error
		for w := 0; w < inFlight; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					cm, err := api.Get(ctx, fmt.Sprintf("bench-%d", i%10), metav1.GetOptions{})
					mu.Lock()
					if err != nil && firstErr == nil {
						firstErr = err
					} else if err == nil {
						count++
						sum += checksum(cm)
					}
					mu.Unlock()
				}
			}()
		}
		for i := 0; i < n; i++ {
			next <- i
		}
		close(next)
		wg.Wait()
		if firstErr != nil {
			fail(firstErr)
		}
	case "list":
		list, err := api.List(ctx, metav1.ListOptions{})
		if err != nil {
			fail(err)
		}
		for i := range list.Items {
			count++
			sum += checksum(&list.Items[i])
		}
	case "list-paged":
		opts := metav1.ListOptions{Limit: 500}
		for {
			page, err := api.List(ctx, opts)
			if err != nil {
				fail(err)
			}
			for i := range page.Items {
				count++
				sum += checksum(&page.Items[i])
			}
			if page.Continue == "" {
				break
			}
			opts.Continue = page.Continue
		}
	default:
		fail(fmt.Errorf("unknown workload %s", workload))
	}
	fmt.Printf("count=%d sum=%d\n", count, sum)
}

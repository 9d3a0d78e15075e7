// The scale workloads (w7, w7m, w8) with client-go: a SharedInformer (w7), a metadata informer
// (w7m) and the canonical client-go controller, an informer feeding a rate-limited workqueue
// drained by workers (w8). Usage: client-go-bench scale <kind> <namespace> <objects> <updates>
// <marker>; the protocol is described in bench/harness/src/scale.rs.
package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

const (
	genKey  = "bench.incluster/gen"
	sentKey = "bench.incluster/sent"
)

func cpuSeconds() float64 {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return -1
	}
	seconds := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return seconds(usage.Utime) + seconds(usage.Stime)
}

func say(format string, args ...any) {
	fmt.Fprintf(os.Stdout, format+"\n", args...)
	os.Stdout.Sync()
}

// progress: the updated objects seen with this run's marker, and their write-to-seen latencies.
type progress struct {
	mu        sync.Mutex
	marker    string
	updates   int
	seen      map[string]bool
	latencies []float64
	done      chan struct{}
}

func newProgress(marker string, updates int) *progress {
	return &progress{marker: marker, updates: updates, seen: map[string]bool{}, done: make(chan struct{})}
}

func (p *progress) observe(meta *metav1.ObjectMeta) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.seen) >= p.updates || meta.Annotations[genKey] != p.marker || p.seen[meta.Name] {
		return
	}
	p.seen[meta.Name] = true
	if sent, err := strconv.ParseInt(meta.Annotations[sentKey], 10, 64); err == nil {
		p.latencies = append(p.latencies, float64(time.Now().UnixNano()-sent)/1e6)
	}
	if len(p.seen) >= p.updates {
		close(p.done)
	}
}

func (p *progress) currentLine() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	sort.Float64s(p.latencies)
	pick := func(q float64) float64 {
		if len(p.latencies) == 0 {
			return -1
		}
		return p.latencies[int(float64(len(p.latencies)-1)*q+0.5)]
	}
	return fmt.Sprintf("current cpu=%.4f p50_ms=%.2f p99_ms=%.2f", cpuSeconds(), pick(0.5), pick(0.99))
}

// waitSynced polls every 2 ms (cache.WaitForCacheSync polls every 100 ms, which would blur the
// time to the first complete view).
func waitSynced(synced func() bool) {
	for !synced() {
		time.Sleep(2 * time.Millisecond)
	}
}

// stripManagedFields is an informer transform clearing metadata.managedFields.
func stripManagedFields(obj any) (any, error) {
	if accessor, err := meta.Accessor(obj); err == nil {
		accessor.SetManagedFields(nil)
	}
	return obj, nil
}

func runScale(config *rest.Config, args []string) (int, uint64) {
	if len(args) != 5 {
		fail(fmt.Errorf("usage: scale <kind> <namespace> <objects> <updates> <marker>, got %q", args))
	}
	kind, namespace, marker := args[0], args[1], args[4]
	objects, err := strconv.Atoi(args[2])
	if err != nil {
		fail(err)
	}
	updates, err := strconv.Atoi(args[3])
	if err != nil {
		fail(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	p := newProgress(marker, updates)
	if updates == 0 {
		close(p.done)
	}
	onChange := func(obj any) {
		if accessor, ok := obj.(metav1.ObjectMetaAccessor); ok {
			p.observe(accessor.GetObjectMeta().(*metav1.ObjectMeta))
		}
	}
	switch kind {
	case "watch", "watch-strip", "watch-json":
		// watch-json: the JSON wire format incluster and kube-rs use (client-go asks for
		// protobuf for built-in types by default; custom resources are JSON only).
		if kind == "watch-json" {
			config.AcceptContentTypes = "application/json"
			config.ContentType = "application/json"
		}
		clientset, err := kubernetes.NewForConfig(config)
		if err != nil {
			fail(err)
		}
		options := []informers.SharedInformerOption{informers.WithNamespace(namespace)}
		// watch-strip: managedFields dropped before the store by an informer transform (what
		// controller-runtime's cache.TransformStripManagedFields does).
		if kind == "watch-strip" {
			options = append(options, informers.WithTransform(stripManagedFields))
		}
		factory := informers.NewSharedInformerFactoryWithOptions(clientset, 0, options...)
		informer := factory.Core().V1().ConfigMaps().Informer()
		var count int
		var sum uint64
		for _, obj := range follow(informer, func() { factory.Start(stop) }, p, updates, onChange) {
			cm := obj.(*corev1.ConfigMap)
			count++
			n := len(cm.Name)
			for _, v := range cm.Data {
				n += len(v)
			}
			sum += uint64(n)
		}
		return count, sum
	case "metadata":
		client, err := metadata.NewForConfig(config)
		if err != nil {
			fail(err)
		}
		factory := metadatainformer.NewFilteredSharedInformerFactory(client, 0, namespace, nil)
		informer := factory.ForResource(corev1.SchemeGroupVersion.WithResource("configmaps")).Informer()
		var count int
		var sum uint64
		for _, obj := range follow(informer, func() { factory.Start(stop) }, p, updates, onChange) {
			m := obj.(*metav1.PartialObjectMetadata)
			count++
			sum += uint64(len(m.Name) + len(m.Annotations[genKey]))
		}
		return count, sum
	case "controller":
		return runController(config, namespace, objects, p, stop)
	default:
		fail(fmt.Errorf("unknown scale workload %s", kind))
	}
	return 0, 0
}

// follow runs informer (start starts its factory) to its first complete view, then until every
// update was seen (onChange gets each updated object), printing the protocol lines; it returns the
// final view.
func follow(informer cache.SharedIndexInformer, start func(), p *progress, updates int, onChange func(any)) []any {
	informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) { onChange(obj) },
	})
	start()
	waitSynced(informer.HasSynced)
	say("ready cpu=%.4f objects=%d", cpuSeconds(), len(informer.GetStore().ListKeys()))
	<-p.done
	if updates > 0 {
		say("%s", p.currentLine())
	}
	return informer.GetStore().List()
}

// runController: the sample-controller shape: informer -> workqueue -> 2 workers, no-op sync.
func runController(config *rest.Config, namespace string, objects int, p *progress, stop chan struct{}) (int, uint64) {
	clientset, err := kubernetes.NewForConfig(config)
	if err != nil {
		fail(err)
	}
	factory := informers.NewSharedInformerFactoryWithOptions(clientset, 0, informers.WithNamespace(namespace))
	informer := factory.Core().V1().ConfigMaps().Informer()
	queue := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
	defer queue.ShutDown()
	enqueue := func(obj any) {
		if key, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
			queue.Add(key)
		}
	}
	informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
		DeleteFunc: enqueue,
	})
	var mu sync.Mutex
	firstPass := map[string]bool{}
	ready := make(chan struct{})
	reconcile := func(key string) {
		obj, exists, err := informer.GetIndexer().GetByKey(key)
		if err != nil || !exists {
			return
		}
		cm := obj.(*corev1.ConfigMap)
		mu.Lock()
		if len(firstPass) < objects {
			firstPass[cm.Name] = true
			if len(firstPass) == objects {
				close(ready)
			}
			mu.Unlock()
			return
		}
		mu.Unlock()
		p.observe(&cm.ObjectMeta)
	}
	factory.Start(stop)
	waitSynced(informer.HasSynced)
	for w := 0; w < 2; w++ {
		go func() {
			for {
				key, shutdown := queue.Get()
				if shutdown {
					return
				}
				reconcile(key)
				queue.Forget(key)
				queue.Done(key)
			}
		}()
	}
	<-ready
	say("ready cpu=%.4f objects=%d", cpuSeconds(), objects)
	<-p.done
	if p.updates > 0 {
		say("%s", p.currentLine())
	}
	mu.Lock()
	defer mu.Unlock()
	var sum uint64
	for name := range firstPass {
		sum += uint64(len(name))
	}
	return len(firstPass), sum
}

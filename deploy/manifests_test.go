package deploy_test

import (
	"bytes"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yannh/kubeconform/pkg/validator"
	"sigs.k8s.io/yaml"

	"github.com/fenzhen/fenzhen/api"
)

// newValidator validates against the committed schemas only (no network),
// strictly: unknown fields and duplicate keys are errors.
func newValidator(t *testing.T) validator.Validator {
	t.Helper()
	dir, err := filepath.Abs("schemas")
	if err != nil {
		t.Fatal(err)
	}
	v, err := validator.New([]string{dir + "/{{ .ResourceKind }}{{ .KindSuffix }}.json"}, validator.Opts{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// manifests are the files applied to a cluster: k8s/ (kustomization.yaml is
// kustomize's, not the API server's) and kserve/.
func manifests(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, g := range []string{"k8s/*.yaml", "kserve/*.yaml"} {
		m, err := filepath.Glob(g)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	files = slices.DeleteFunc(files, func(f string) bool { return filepath.Base(f) == "kustomization.yaml" })
	if len(files) < 9 {
		t.Fatalf("found only %d manifests: %v", len(files), files)
	}
	return files
}

func validate(t *testing.T, v validator.Validator, file string) []validator.Result {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	return v.Validate(file, f) // closes f
}

func TestManifestsMatchSchemas(t *testing.T) {
	v := newValidator(t)
	kinds := map[string]bool{}
	for _, file := range manifests(t) {
		res := validate(t, v, file)
		if len(res) == 0 {
			t.Errorf("%s: no resources", file)
		}
		for _, r := range res {
			sig, _ := r.Resource.Signature()
			if r.Status != validator.Valid {
				t.Errorf("%s: %v %s: status %d: %v %+v", file, sig.Kind, sig.Name, r.Status, r.Err, r.ValidationErrors)
				continue
			}
			kinds[sig.Kind] = true
		}
	}
	for _, k := range []string{"Namespace", "ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "InferenceService", "ServingRuntime"} {
		if !kinds[k] {
			t.Errorf("no valid %s among the manifests", k)
		}
	}
}

// TestBrokenManifestsFail shows the validator rejects what the API server
// would: unknown fields, wrong types, missing required fields, a kind without
// a schema.
func TestBrokenManifestsFail(t *testing.T) {
	v := newValidator(t)
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil || len(files) < 4 {
		t.Fatalf("want the broken manifests in testdata/invalid, got %v %v", files, err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			// The first line names what must be wrong: "# want: <text>".
			first, _, _ := strings.Cut(string(raw), "\n")
			want, ok := strings.CutPrefix(first, "# want: ")
			if !ok {
				t.Fatalf("first line %q is not '# want: …'", first)
			}
			res := validate(t, v, file)
			if len(res) != 1 {
				t.Fatalf("want 1 resource, got %d", len(res))
			}
			r := res[0]
			if r.Status == validator.Valid {
				t.Fatal("broken manifest passed validation")
			}
			var msg strings.Builder
			if r.Err != nil {
				msg.WriteString(r.Err.Error())
			}
			for _, e := range r.ValidationErrors {
				msg.WriteString(" " + e.Path + ": " + e.Msg)
			}
			if !strings.Contains(msg.String(), want) {
				t.Errorf("error %q does not mention %q", msg.String(), want)
			}
		})
	}
}

// Just enough of the Kubernetes types for the cross-manifest checks.
type (
	meta struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	}
	selector struct {
		MatchLabels map[string]string `json:"matchLabels"`
	}
	probe struct {
		HTTPGet *struct {
			Path string `json:"path"`
			Port any    `json:"port"`
		} `json:"httpGet"`
		PeriodSeconds    int `json:"periodSeconds"`
		FailureThreshold int `json:"failureThreshold"`
	}
	container struct {
		Name    string   `json:"name"`
		Image   string   `json:"image"`
		Args    []string `json:"args"`
		EnvFrom []struct {
			ConfigMapRef *struct {
				Name string `json:"name"`
			} `json:"configMapRef"`
		} `json:"envFrom"`
		Env []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"env"`
		Ports []struct {
			Name          string `json:"name"`
			ContainerPort int    `json:"containerPort"`
		} `json:"ports"`
		StartupProbe   *probe `json:"startupProbe"`
		LivenessProbe  *probe `json:"livenessProbe"`
		ReadinessProbe *probe `json:"readinessProbe"`
		Lifecycle      *struct {
			PreStop *struct {
				Exec *struct {
					Command []string `json:"command"`
				} `json:"exec"`
			} `json:"preStop"`
		} `json:"lifecycle"`
		Resources struct {
			Requests map[string]string `json:"requests"`
			Limits   map[string]string `json:"limits"`
		} `json:"resources"`
		SecurityContext *struct {
			AllowPrivilegeEscalation *bool `json:"allowPrivilegeEscalation"`
			ReadOnlyRootFilesystem   *bool `json:"readOnlyRootFilesystem"`
			RunAsNonRoot             *bool `json:"runAsNonRoot"`
			Capabilities             *struct {
				Drop []string `json:"drop"`
			} `json:"capabilities"`
		} `json:"securityContext"`
		VolumeMounts []struct {
			Name      string `json:"name"`
			MountPath string `json:"mountPath"`
			ReadOnly  bool   `json:"readOnly"`
		} `json:"volumeMounts"`
	}
	podSpec struct {
		ServiceAccountName            string      `json:"serviceAccountName"`
		TerminationGracePeriodSeconds *int        `json:"terminationGracePeriodSeconds"`
		Containers                    []container `json:"containers"`
		SecurityContext               *struct {
			RunAsNonRoot   *bool `json:"runAsNonRoot"`
			RunAsUser      *int  `json:"runAsUser"`
			SeccompProfile *struct {
				Type string `json:"type"`
			} `json:"seccompProfile"`
		} `json:"securityContext"`
		Volumes []struct {
			Name     string          `json:"name"`
			EmptyDir *map[string]any `json:"emptyDir"`
			Secret   *struct {
				SecretName string `json:"secretName"`
			} `json:"secret"`
			PersistentVolumeClaim *map[string]any `json:"persistentVolumeClaim"`
		} `json:"volumes"`
	}
	deployment struct {
		Metadata meta `json:"metadata"`
		Spec     struct {
			Replicas int      `json:"replicas"`
			Selector selector `json:"selector"`
			Template struct {
				Metadata meta    `json:"metadata"`
				Spec     podSpec `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	service struct {
		Metadata meta `json:"metadata"`
		Spec     struct {
			Selector map[string]string `json:"selector"`
			Ports    []struct {
				Name       string `json:"name"`
				Port       int    `json:"port"`
				TargetPort any    `json:"targetPort"`
			} `json:"ports"`
		} `json:"spec"`
	}
	hpa struct {
		Metadata meta `json:"metadata"`
		Spec     struct {
			ScaleTargetRef struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Name       string `json:"name"`
			} `json:"scaleTargetRef"`
			MinReplicas int `json:"minReplicas"`
			MaxReplicas int `json:"maxReplicas"`
			Metrics     []struct {
				Type string `json:"type"`
			} `json:"metrics"`
		} `json:"spec"`
	}
	pdb struct {
		Metadata meta `json:"metadata"`
		Spec     struct {
			MinAvailable any      `json:"minAvailable"`
			Selector     selector `json:"selector"`
		} `json:"spec"`
	}
	networkPolicy struct {
		Metadata meta `json:"metadata"`
		Spec     struct {
			PodSelector selector `json:"podSelector"`
			Ingress     []struct {
				Ports []struct {
					Port any `json:"port"`
				} `json:"ports"`
			} `json:"ingress"`
		} `json:"spec"`
	}
	configMap struct {
		Metadata meta              `json:"metadata"`
		Data     map[string]string `json:"data"`
	}
	servingRuntime struct {
		Metadata meta `json:"metadata"`
		Spec     struct {
			SupportedModelFormats []struct {
				Name    string `json:"name"`
				Version string `json:"version"`
			} `json:"supportedModelFormats"`
			ProtocolVersions []string `json:"protocolVersions"`
			podSpec
		} `json:"spec"`
	}
	inferenceService struct {
		Metadata meta `json:"metadata"`
		Spec     struct {
			Predictor struct {
				TerminationGracePeriodSeconds *int `json:"terminationGracePeriodSeconds"`
				Model                         struct {
					ModelFormat struct {
						Name    string `json:"name"`
						Version string `json:"version"`
					} `json:"modelFormat"`
					Runtime         string `json:"runtime"`
					ProtocolVersion string `json:"protocolVersion"`
				} `json:"model"`
			} `json:"predictor"`
		} `json:"spec"`
	}
)

func load[T any](t *testing.T, file string) T {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var v T
	if err := yaml.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return v
}

func configMapData(t *testing.T) map[string]string {
	return load[configMap](t, "k8s/configmap.yaml").Data
}

// subset reports whether every label of sel is on labels (a selector matches).
func subset(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// portOf resolves a probe's or Service's port (number or container port name).
func portOf(t *testing.T, c container, p any) int {
	t.Helper()
	switch p := p.(type) {
	case float64:
		return int(p)
	case string:
		for _, cp := range c.Ports {
			if cp.Name == p {
				return cp.ContainerPort
			}
		}
		if n, err := strconv.Atoi(p); err == nil {
			return n
		}
	}
	t.Errorf("port %v is not a port of container %s", p, c.Name)
	return -1
}

// preStopSeconds is the sleep of a preStop "sleep N" exec hook.
func preStopSeconds(t *testing.T, c container) int {
	t.Helper()
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Exec == nil {
		t.Errorf("container %s has no preStop hook to let endpoints drain", c.Name)
		return 0
	}
	cmd := c.Lifecycle.PreStop.Exec.Command
	if len(cmd) != 2 || !strings.HasSuffix(cmd[0], "sleep") {
		t.Errorf("preStop %q: want [/bin/sleep N]", cmd)
		return 0
	}
	n, err := strconv.Atoi(cmd[1])
	if err != nil || n <= 0 {
		t.Errorf("preStop sleep %q", cmd[1])
	}
	return n
}

func TestKubernetesManifestsFitTogether(t *testing.T) {
	cm := load[configMap](t, "k8s/configmap.yaml")
	dep := load[deployment](t, "k8s/deployment.yaml")
	svc := load[service](t, "k8s/service.yaml")
	h := load[hpa](t, "k8s/hpa.yaml")
	p := load[pdb](t, "k8s/pdb.yaml")
	np := load[networkPolicy](t, "k8s/networkpolicy.yaml")
	ns := load[struct {
		Metadata meta `json:"metadata"`
	}](t, "k8s/namespace.yaml")
	sa := load[struct {
		Metadata meta `json:"metadata"`
	}](t, "k8s/serviceaccount.yaml")

	for _, m := range []meta{cm.Metadata, dep.Metadata, svc.Metadata, h.Metadata, p.Metadata, np.Metadata, sa.Metadata} {
		if m.Namespace != ns.Metadata.Name {
			t.Errorf("%s is in namespace %q, want %q", m.Name, m.Namespace, ns.Metadata.Name)
		}
	}

	// The settings are ones the server knows and accepts.
	known := map[string]bool{"FENZHEN_AUDIT_PATH": true} // read by the audit log, not api.Config
	for _, e := range api.Env {
		known[e.Name] = true
	}
	for _, k := range slices.Sorted(maps.Keys(cm.Data)) {
		if !known[k] {
			t.Errorf("configmap sets %s, which the server does not read", k)
		}
		t.Setenv(k, cm.Data[k])
	}
	cfg := api.DefaultConfig()
	if err := cfg.FromEnv(); err != nil {
		t.Fatalf("the server rejects the configmap: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the server rejects the configmap: %v", err)
	}
	_, addrPort, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		t.Fatal(err)
	}

	pod := dep.Spec.Template
	if dep.Spec.Replicas < 2 {
		t.Errorf("replicas %d: want at least 2", dep.Spec.Replicas)
	}
	if !subset(dep.Spec.Selector.MatchLabels, pod.Metadata.Labels) {
		t.Errorf("deployment selector %v does not match its pods %v", dep.Spec.Selector.MatchLabels, pod.Metadata.Labels)
	}
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	if len(c.EnvFrom) != 1 || c.EnvFrom[0].ConfigMapRef == nil || c.EnvFrom[0].ConfigMapRef.Name != cm.Metadata.Name {
		t.Errorf("container does not take its environment from configmap %s", cm.Metadata.Name)
	}
	if pod.Spec.ServiceAccountName != sa.Metadata.Name {
		t.Errorf("serviceAccountName %q, want %q", pod.Spec.ServiceAccountName, sa.Metadata.Name)
	}
	port := portOf(t, c, "http")
	if strconv.Itoa(port) != addrPort {
		t.Errorf("container port %d, server listens on %s", port, cfg.Addr)
	}
	checkProbe := func(name string, pr *probe, path string) {
		if pr == nil || pr.HTTPGet == nil {
			t.Errorf("no %s probe", name)
			return
		}
		if pr.HTTPGet.Path != path {
			t.Errorf("%s probe on %s, want %s", name, pr.HTTPGet.Path, path)
		}
		if got := portOf(t, c, pr.HTTPGet.Port); got != port {
			t.Errorf("%s probe on port %d, the server listens on %d", name, got, port)
		}
	}
	checkProbe("liveness", c.LivenessProbe, "/healthz")
	checkProbe("readiness", c.ReadinessProbe, "/readyz")
	checkProbe("startup", c.StartupProbe, "/healthz")
	if c.StartupProbe != nil && c.StartupProbe.PeriodSeconds*c.StartupProbe.FailureThreshold < 60 {
		t.Errorf("startup probe gives up after %ds; loading models and the KG index needs more", c.StartupProbe.PeriodSeconds*c.StartupProbe.FailureThreshold)
	}

	// Graceful shutdown: SIGTERM comes after preStop; the kubelet's SIGKILL
	// must not come before the server's own drain deadline.
	grace := 30 // the Kubernetes default
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = *g
	}
	need := cfg.ShutdownTimeout + time.Duration(preStopSeconds(t, c))*time.Second
	if time.Duration(grace)*time.Second <= need {
		t.Errorf("terminationGracePeriodSeconds %d must exceed FENZHEN_SHUTDOWN_TIMEOUT + preStop = %s", grace, need)
	}

	for _, r := range []string{"cpu", "memory"} {
		if c.Resources.Requests[r] == "" || c.Resources.Limits[r] == "" {
			t.Errorf("%s request and limit must both be set", r)
		}
	}
	sc, psc := c.SecurityContext, pod.Spec.SecurityContext
	switch {
	case sc == nil || psc == nil:
		t.Error("pod and container need a securityContext")
	default:
		if psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
			t.Error("pod must run as a non-root uid")
		}
		if psc.SeccompProfile == nil || psc.SeccompProfile.Type != "RuntimeDefault" {
			t.Error("pod seccompProfile must be RuntimeDefault")
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Error("readOnlyRootFilesystem must be true")
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Error("allowPrivilegeEscalation must be false")
		}
		if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) {
			t.Error("capabilities must drop ALL")
		}
	}
	// With a read-only root, everything the server writes must be on a volume.
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	volumes := map[string]bool{}
	for _, v := range pod.Spec.Volumes {
		volumes[v.Name] = true
	}
	for _, m := range c.VolumeMounts {
		if !volumes[m.Name] {
			t.Errorf("mount %s uses undefined volume %s", m.MountPath, m.Name)
		}
	}
	for _, dir := range []string{filepath.Dir(cm.Data["FENZHEN_AUDIT_PATH"]), "/tmp", filepath.Dir(cfg.KeysFile)} {
		if mounts[dir] == "" {
			t.Errorf("%s is not on a volume (mounts %v)", dir, mounts)
		}
	}
	ann := pod.Metadata.Annotations
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/path"] != "/metrics" || ann["prometheus.io/port"] != strconv.Itoa(port) {
		t.Errorf("prometheus annotations %v do not point at :%d/metrics", ann, port)
	}

	if !subset(svc.Spec.Selector, pod.Metadata.Labels) {
		t.Errorf("service selector %v does not match pod labels %v", svc.Spec.Selector, pod.Metadata.Labels)
	}
	for _, sp := range svc.Spec.Ports {
		if got := portOf(t, c, sp.TargetPort); got != port {
			t.Errorf("service port %d targets %d, the server listens on %d", sp.Port, got, port)
		}
	}

	ref := h.Spec.ScaleTargetRef
	if ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" || ref.Name != dep.Metadata.Name {
		t.Errorf("HPA targets %s %s %s, want apps/v1 Deployment %s", ref.APIVersion, ref.Kind, ref.Name, dep.Metadata.Name)
	}
	if h.Spec.MinReplicas < 2 || h.Spec.MaxReplicas < h.Spec.MinReplicas || len(h.Spec.Metrics) == 0 {
		t.Errorf("HPA min %d max %d metrics %d", h.Spec.MinReplicas, h.Spec.MaxReplicas, len(h.Spec.Metrics))
	}

	if !subset(p.Spec.Selector.MatchLabels, pod.Metadata.Labels) {
		t.Errorf("PDB selector %v does not match pod labels %v", p.Spec.Selector.MatchLabels, pod.Metadata.Labels)
	}
	if n, ok := p.Spec.MinAvailable.(float64); !ok || int(n) < 1 || int(n) >= dep.Spec.Replicas {
		t.Errorf("PDB minAvailable %v: want 1..replicas-1 so one pod can always be evicted", p.Spec.MinAvailable)
	}

	if !subset(np.Spec.PodSelector.MatchLabels, pod.Metadata.Labels) {
		t.Errorf("NetworkPolicy selects %v, not the pods %v", np.Spec.PodSelector.MatchLabels, pod.Metadata.Labels)
	}
	allowed := false
	for _, in := range np.Spec.Ingress {
		for _, pp := range in.Ports {
			allowed = allowed || portOf(t, c, pp.Port) == port
		}
	}
	if !allowed {
		t.Errorf("NetworkPolicy does not admit port %d", port)
	}
}

// TestKustomizationListsEveryManifest keeps `kubectl apply -k deploy/k8s` complete.
func TestKustomizationListsEveryManifest(t *testing.T) {
	k := load[struct {
		Resources []string `json:"resources"`
	}](t, "k8s/kustomization.yaml")
	files, _ := filepath.Glob("k8s/*.yaml")
	var want []string
	for _, f := range files {
		if b := filepath.Base(f); b != "kustomization.yaml" {
			want = append(want, b)
		}
	}
	got := slices.Sorted(slices.Values(k.Resources))
	if !slices.Equal(got, want) {
		t.Errorf("kustomization resources %v, files %v", got, want)
	}
}

func TestKServeManifests(t *testing.T) {
	sr := load[servingRuntime](t, "kserve/servingruntime.yaml")
	is := load[inferenceService](t, "kserve/inferenceservice.yaml")
	m := is.Spec.Predictor.Model
	if m.ProtocolVersion != "v2" || !slices.Contains(sr.Spec.ProtocolVersions, "v2") {
		t.Errorf("protocol: InferenceService %q, runtime %v; fenzhen speaks v2", m.ProtocolVersion, sr.Spec.ProtocolVersions)
	}
	if m.Runtime != sr.Metadata.Name || sr.Metadata.Namespace != is.Metadata.Namespace {
		t.Errorf("InferenceService runtime %q, ServingRuntime %s/%s", m.Runtime, sr.Metadata.Namespace, sr.Metadata.Name)
	}
	if !slices.ContainsFunc(sr.Spec.SupportedModelFormats, func(f struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}) bool {
		return f.Name == m.ModelFormat.Name && f.Version == m.ModelFormat.Version
	}) {
		t.Errorf("model format %+v is not one the runtime supports %+v", m.ModelFormat, sr.Spec.SupportedModelFormats)
	}
	if len(sr.Spec.Containers) != 1 || sr.Spec.Containers[0].Name != "kserve-container" {
		t.Fatalf("KServe wants one container named kserve-container")
	}
	c := sr.Spec.Containers[0]
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	_, addrPort, _ := net.SplitHostPort(env["FENZHEN_ADDR"])
	if len(c.Ports) != 1 || strconv.Itoa(c.Ports[0].ContainerPort) != addrPort {
		t.Errorf("container ports %+v, FENZHEN_ADDR %q", c.Ports, env["FENZHEN_ADDR"])
	}
	for name, pr := range map[string]*probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		if pr == nil || pr.HTTPGet == nil || !strings.HasPrefix(pr.HTTPGet.Path, "/v2/health/") {
			t.Errorf("%s probe should use the v2 health routes", name)
		}
	}
	shutdown, err := time.ParseDuration(env["FENZHEN_SHUTDOWN_TIMEOUT"])
	grace := 30
	if g := is.Spec.Predictor.TerminationGracePeriodSeconds; g != nil {
		grace = *g
	}
	if err != nil || time.Duration(grace)*time.Second <= shutdown {
		t.Errorf("terminationGracePeriodSeconds %d must exceed FENZHEN_SHUTDOWN_TIMEOUT %q", grace, env["FENZHEN_SHUTDOWN_TIMEOUT"])
	}
}

// probePaths are the HTTP paths every probe in the manifests hits; the
// monitoring test requests each one from a real server.
func probePaths(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if strings.HasSuffix(k, "Probe") {
					if hg, ok := x.(map[string]any)["httpGet"].(map[string]any); ok {
						seen[hg["path"].(string)] = true
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	for _, f := range manifests(t) {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range bytes.Split(raw, []byte("\n---")) {
			var v any
			if err := yaml.Unmarshal(doc, &v); err != nil {
				t.Fatal(err)
			}
			walk(v)
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

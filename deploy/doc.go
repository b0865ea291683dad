// Package deploy holds what runs fenzhen outside a developer's machine: the
// container image (Dockerfile), Kubernetes and KServe manifests (k8s/,
// kserve/), Prometheus alerts and a Grafana dashboard. It has no code; its
// tests validate those files offline: the manifests against the strict JSON
// schemas in schemas/, the PromQL with Prometheus's own parsers, and every
// metric name against what a real server exports.
package deploy

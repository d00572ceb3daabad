// Command kwok-stages prints kwok's own default stages (fast node and pod lifecycles, node
// heartbeat) as one multi-document config for `kwok --config`, the way kwokctl passes them: the
// kwok binary alone starts with no stages. The stage text comes from the kwok module itself.
package main

import (
	"fmt"
	"strings"

	nodefast "sigs.k8s.io/kwok/kustomize/stage/node/fast"
	nodeheartbeat "sigs.k8s.io/kwok/kustomize/stage/node/heartbeat"
	podfast "sigs.k8s.io/kwok/kustomize/stage/pod/fast"
)

func main() {
	stages := []string{
		nodefast.DefaultNodeInit,
		nodeheartbeat.DefaultNodeHeartbeat,
		podfast.DefaultPodReady,
		podfast.DefaultPodComplete,
		podfast.DefaultPodDelete,
	}
	for _, s := range stages {
		fmt.Printf("---\n%s\n", strings.TrimSpace(s))
	}
}

package main

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/prices"
)

// gpuModel is one GPU Vertex AI training offers, and how machines carry it.
type gpuModel struct {
	name   string // what the user writes, canonical form
	accel  aiplatformpb.AcceleratorType
	counts []int
	// machine names the default machine for n GPUs.
	machine func(n int) string
	// attached is true for GPUs added to any N1 machine; otherwise the
	// machine type itself fixes the GPU model and count.
	attached bool
}

func n1For(n int) string { return "n1-standard-" + strconv.Itoa(8*n) }

func suffixed(prefix string) func(int) string {
	return func(n int) string { return prefix + strconv.Itoa(n) + "g" }
}

func l4Machine(n int) string {
	return map[int]string{1: "g2-standard-8", 2: "g2-standard-24", 4: "g2-standard-48", 8: "g2-standard-96"}[n]
}

func a100Machine(n int) string {
	if n == 16 {
		return "a2-megagpu-16g"
	}
	return suffixed("a2-highgpu-")(n)
}

// gpuModels lists the NVIDIA GPUs Vertex AI custom training offers, keyed
// by their short names.
var gpuModels = map[string]gpuModel{
	"t4":        {"T4", aiplatformpb.AcceleratorType_NVIDIA_TESLA_T4, []int{1, 2, 4}, n1For, true},
	"p4":        {"P4", aiplatformpb.AcceleratorType_NVIDIA_TESLA_P4, []int{1, 2, 4}, n1For, true},
	"p100":      {"P100", aiplatformpb.AcceleratorType_NVIDIA_TESLA_P100, []int{1, 2, 4}, n1For, true},
	"v100":      {"V100", aiplatformpb.AcceleratorType_NVIDIA_TESLA_V100, []int{1, 2, 4, 8}, n1For, true},
	"l4":        {"L4", aiplatformpb.AcceleratorType_NVIDIA_L4, []int{1, 2, 4, 8}, l4Machine, false},
	"a100":      {"A100", aiplatformpb.AcceleratorType_NVIDIA_TESLA_A100, []int{1, 2, 4, 8, 16}, a100Machine, false},
	"a100-80gb": {"A100-80GB", aiplatformpb.AcceleratorType_NVIDIA_A100_80GB, []int{1, 2, 4, 8}, suffixed("a2-ultragpu-"), false},
	"h100":      {"H100", aiplatformpb.AcceleratorType_NVIDIA_H100_80GB, []int{1, 2, 4, 8}, suffixed("a3-highgpu-"), false},
	"h100-mega": {"H100-MEGA", aiplatformpb.AcceleratorType_NVIDIA_H100_MEGA_80GB, []int{8}, suffixed("a3-megagpu-"), false},
	"h200":      {"H200", aiplatformpb.AcceleratorType_NVIDIA_H200_141GB, []int{8}, suffixed("a3-ultragpu-"), false},
	"b200":      {"B200", aiplatformpb.AcceleratorType_NVIDIA_B200, []int{8}, suffixed("a4-highgpu-"), false},
}

// gpuAliases maps other spellings onto gpuModels keys.
var gpuAliases = map[string]string{"a100-40gb": "a100", "h100-80gb": "h100", "h100-mega-80gb": "h100-mega", "h200-141gb": "h200"}

// lookupGPU accepts T4, nvidia-tesla-t4 and NVIDIA_TESLA_T4 alike.
func lookupGPU(name string) (gpuModel, bool) {
	k := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), "_", "-")
	k = strings.TrimPrefix(strings.TrimPrefix(k, "nvidia-"), "tesla-")
	if a, ok := gpuAliases[k]; ok {
		k = a
	}
	g, ok := gpuModels[k]
	return g, ok
}

func gpuNames() string {
	var out []string
	for _, g := range gpuModels {
		out = append(out, g.name)
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// machineShape is a CPU machine type the plugin may choose by itself.
type machineShape struct {
	name     string
	vcpus    float64
	memoryGB float64
}

// n1Shapes are tried in order when the spec asks for CPUs or memory and
// names no machine type; N1 takes every attached GPU.
var n1Shapes = []machineShape{
	{"n1-standard-4", 4, 15}, {"n1-standard-8", 8, 30}, {"n1-highmem-8", 8, 52},
	{"n1-standard-16", 16, 60}, {"n1-highmem-16", 16, 104}, {"n1-standard-32", 32, 120},
	{"n1-highmem-32", 32, 208}, {"n1-standard-64", 64, 240}, {"n1-highmem-64", 64, 416},
	{"n1-standard-96", 96, 360}, {"n1-highmem-96", 96, 624},
}

// fixedGPURe matches the machine types that come with their own GPUs.
var fixedGPURe = regexp.MustCompile(`^(a2-highgpu|a2-megagpu|a2-ultragpu|a3-highgpu|a3-megagpu|a3-ultragpu|a4-highgpu)-([0-9]+)g$|^g2-standard-([0-9]+)$`)

// fixedGPU gives the GPU model and count built into a machine type.
func fixedGPU(machine string) (gpuModel, int, bool) {
	m := fixedGPURe.FindStringSubmatch(machine)
	if m == nil {
		return gpuModel{}, 0, false
	}
	if m[3] != "" {
		n := map[string]int{"4": 1, "8": 1, "12": 1, "16": 1, "32": 1, "24": 2, "48": 4, "96": 8}[m[3]]
		return gpuModels["l4"], n, n > 0
	}
	n, _ := strconv.Atoi(m[2])
	key := map[string]string{"a2-highgpu": "a100", "a2-megagpu": "a100", "a2-ultragpu": "a100-80gb", "a3-highgpu": "h100",
		"a3-megagpu": "h100-mega", "a3-ultragpu": "h200", "a4-highgpu": "b200"}[m[1]]
	return gpuModels[key], n, true
}

var machineTypeRe = regexp.MustCompile(`^[a-z][a-z0-9]*-[a-z0-9]+(-[a-z0-9]+)*$`)

// machine is the resolved machine of a worker pool.
type machine struct {
	machineType string
	accel       aiplatformpb.AcceleratorType
	count       int32
	warnings    []string
}

// resolveMachine picks the machine type and accelerator for r in region.
// Without an instance type it takes the cheapest catalog offer, the one
// the host's cost compare shows; only where the catalog has none does it
// fall back to the smallest machine that fits.
func resolveMachine(region string, r sdk.Resources) (machine, error) {
	var m machine
	if r.InstanceType != "" && !machineTypeRe.MatchString(r.InstanceType) {
		return m, sdk.FieldError("resources.instance_type", fmt.Sprintf("%q is not a Compute Engine machine type", r.InstanceType), "use a machine type such as n1-standard-8 or a2-highgpu-1g")
	}
	var gpu gpuModel
	if r.GPUType != "" || r.GPUs > 0 {
		if r.GPUType == "" {
			fg, n, ok := fixedGPU(r.InstanceType)
			if !ok {
				return m, sdk.FieldError("resources.gpu_type", fmt.Sprintf("is required with resources.gpus = %d", r.GPUs), "set resources.gpu_type to one of "+gpuNames())
			}
			gpu, r.GPUType = fg, fg.name
			if r.GPUs != n {
				return m, sdk.FieldError("resources.gpus", fmt.Sprintf("%s comes with %d GPUs, not %d", r.InstanceType, n, r.GPUs), fmt.Sprintf("set resources.gpus to %d or choose another machine type", n))
			}
		} else {
			var ok bool
			if gpu, ok = lookupGPU(r.GPUType); !ok {
				return m, sdk.FieldError("resources.gpu_type", fmt.Sprintf("%q is not a GPU Vertex AI training offers", r.GPUType), "use one of "+gpuNames())
			}
		}
		if !slices.Contains(gpu.counts, r.GPUs) {
			return m, sdk.FieldError("resources.gpus", fmt.Sprintf("Vertex AI attaches %s GPUs in counts of %v, not %d", gpu.name, gpu.counts, r.GPUs), fmt.Sprintf("set resources.gpus to one of %v", gpu.counts))
		}
		m.accel, m.count = gpu.accel, int32(r.GPUs)
	}
	if r.InstanceType == "" {
		if o, ok := cheapestOffer(region, m, r); ok {
			m.machineType = o.InstanceType
			if fg, n, fixed := fixedGPU(o.InstanceType); fixed {
				m.accel, m.count = fg.accel, int32(n)
				if r.CPUs > 0 || r.MemoryGB > 0 {
					m.warnings = append(m.warnings, fmt.Sprintf("resources.cpus and resources.memory_gb are fixed by %s and not applied", m.machineType))
				}
			}
			return m, nil
		}
	}
	switch {
	case r.InstanceType != "":
		m.machineType = r.InstanceType
		fg, n, fixed := fixedGPU(r.InstanceType)
		switch {
		case fixed && m.count == 0:
			// The machine type fixes its GPUs; the API still wants them named.
			m.accel, m.count = fg.accel, int32(n)
		case fixed && (fg.accel != m.accel || int(m.count) != n):
			return m, sdk.FieldError("resources.instance_type", fmt.Sprintf("%s comes with %d %s GPUs, not %d %s", r.InstanceType, n, fg.name, m.count, gpu.name),
				fmt.Sprintf("use %s for %d %s GPUs, or leave instance_type out", gpu.machine(int(m.count)), m.count, gpu.name))
		case !fixed && m.count > 0 && !gpu.attached:
			return m, sdk.FieldError("resources.instance_type", fmt.Sprintf("%s GPUs come only with their own machine types, not %s", gpu.name, r.InstanceType),
				fmt.Sprintf("use %s, or leave instance_type out", gpu.machine(int(m.count))))
		case !fixed && m.count > 0 && !strings.HasPrefix(r.InstanceType, "n1-"):
			return m, sdk.FieldError("resources.instance_type", fmt.Sprintf("%s GPUs attach only to N1 machines, not %s", gpu.name, r.InstanceType), "use an n1-standard or n1-highmem machine type")
		}
	case m.count > 0 && !gpu.attached:
		m.machineType = gpu.machine(int(m.count))
		if r.CPUs > 0 || r.MemoryGB > 0 {
			m.warnings = append(m.warnings, fmt.Sprintf("resources.cpus and resources.memory_gb are fixed by %s and not applied", m.machineType))
		}
	default:
		minimum := "n1-standard-4"
		if m.count > 0 {
			minimum = gpu.machine(int(m.count))
		}
		shape, ok := pickShape(minimum, r.CPUs, r.MemoryGB)
		if !ok {
			return m, sdk.FieldError("resources.cpus", fmt.Sprintf("no N1 machine has %g vCPUs and %g GB of memory", r.CPUs, r.MemoryGB), "lower resources.cpus or resources.memory_gb, or set resources.instance_type")
		}
		m.machineType = shape
	}
	return m, nil
}

// pickShape returns the first N1 shape at least as big as minimum with the
// CPUs and memory asked for.
// cheapestOffer is the catalog's cheapest offer for r, at spot prices when
// r asks for spot and there are any, else at on-demand prices: the machine
// is the same whichever price is known.
func cheapestOffer(region string, m machine, r sdk.Resources) (prices.Offer, bool) {
	n := need(region, m, r.Spot)
	n.CPUs, n.MemoryGB = r.CPUs, r.MemoryGB
	if o, ok := prices.Cheapest(catalog, n); ok {
		return o, true
	}
	n.Spot = false
	return prices.Cheapest(catalog, n)
}

func pickShape(minimum string, cpus, memGB float64) (string, bool) {
	at := slices.IndexFunc(n1Shapes, func(s machineShape) bool { return s.name == minimum })
	if at < 0 {
		at = 0
	}
	floor := n1Shapes[at]
	for _, s := range n1Shapes[at:] {
		if s.vcpus >= max(cpus, floor.vcpus) && s.memoryGB >= max(memGB, floor.memoryGB) {
			return s.name, true
		}
	}
	return "", false
}

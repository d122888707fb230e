package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/neural-dsl/neural-host/sdk"
)

// dlcRegistries maps a region to the account whose ECR registry serves the
// AWS Deep Learning Containers there. Most regions share 763104351884;
// opt-in, China and GovCloud regions have their own. Source: the
// image_uri_config tables of aws/sagemaker-python-sdk and the DLC
// available_images list.
var dlcRegistries = map[string]string{
	"af-south-1": "626614931356", "ap-east-1": "871362719292", "ap-east-2": "975050140332",
	"ap-northeast-1": "763104351884", "ap-northeast-2": "763104351884", "ap-northeast-3": "364406365360",
	"ap-south-1": "763104351884", "ap-south-2": "772153158452", "ap-southeast-1": "763104351884",
	"ap-southeast-2": "763104351884", "ap-southeast-3": "907027046896", "ap-southeast-4": "457447274322",
	"ap-southeast-5": "550225433462", "ap-southeast-7": "590183813437", "ca-central-1": "763104351884",
	"ca-west-1": "204538143572", "cn-north-1": "727897471807", "cn-northwest-1": "727897471807",
	"eu-central-1": "763104351884", "eu-central-2": "380420809688", "eu-north-1": "763104351884",
	"eu-south-1": "692866216735", "eu-south-2": "503227376785", "eu-west-1": "763104351884",
	"eu-west-2": "763104351884", "eu-west-3": "763104351884", "il-central-1": "780543022126",
	"me-central-1": "914824155844", "me-south-1": "217643126080", "mx-central-1": "637423239942",
	"sa-east-1": "763104351884", "us-east-1": "763104351884", "us-east-2": "763104351884",
	"us-gov-east-1": "446045086412", "us-gov-west-1": "442386744353", "us-west-1": "763104351884",
	"us-west-2": "763104351884",
}

// framework describes one framework's Deep Learning Containers: for each
// version the Python tag of its images, for training and for inference.
type framework struct {
	training, inference map[string]string
	defaultVersion      string
	// inferencePy is false where inference tags carry no Python version.
	inferencePy bool
}

var frameworks = map[string]framework{
	"pytorch": {
		training:       map[string]string{"2.1.0": "py310", "2.2.0": "py310", "2.3.0": "py311", "2.4.0": "py311", "2.5.1": "py311"},
		inference:      map[string]string{"2.1.0": "py310", "2.2.0": "py310", "2.3.0": "py311", "2.4.0": "py311", "2.5.1": "py311"},
		defaultVersion: "2.5.1",
		inferencePy:    true,
	},
	"tensorflow": {
		training:       map[string]string{"2.13.0": "py310", "2.14.1": "py310", "2.16.2": "py310"},
		inference:      map[string]string{"2.13.0": "", "2.14.1": "", "2.16.1": ""},
		defaultVersion: "2.14.1",
	},
}

// processor is the image variant an instance type needs.
type processor string

const (
	cpu    processor = "cpu"
	gpu    processor = "gpu"
	neuron processor = "neuron"
)

func registryHost(region string) (string, error) {
	acct, ok := dlcRegistries[region]
	if !ok {
		return "", sdk.FieldError("options.image", "the plugin knows no Deep Learning Container registry for region "+region, "set options.image to a training image in your region")
	}
	domain := "amazonaws.com"
	if strings.HasPrefix(region, "cn-") {
		domain = "amazonaws.com.cn"
	}
	return fmt.Sprintf("%s.dkr.ecr.%s.%s", acct, region, domain), nil
}

// frameworkImage returns the URI of a framework container: training or
// inference, for a version ("" takes the default), region and processor.
func frameworkImage(name, version, region string, proc processor, training bool) (string, error) {
	fw, ok := frameworks[name]
	if !ok {
		return "", sdk.FieldError("options.framework", fmt.Sprintf("%q is not a framework this plugin has images for", name), "use pytorch or tensorflow, or set options.image")
	}
	versions, repo := fw.training, name+"-training"
	if !training {
		versions, repo = fw.inference, name+"-inference"
	}
	if version == "" {
		version = fw.defaultVersion
		if _, ok := versions[version]; !ok {
			version = newest(versions)
		}
	}
	py, ok := versions[version]
	if !ok {
		return "", sdk.FieldError("options.framework_version", fmt.Sprintf("%s %s has no %s image in the plugin's table", name, version, strings.TrimPrefix(repo, name+"-")),
			"use one of "+strings.Join(sortedKeys(versions), ", ")+", or set options.image")
	}
	if proc == neuron {
		return "", sdk.FieldError("resources.instance_type", "Trainium and Inferentia instances need Neuron images", "set options.image to a Neuron Deep Learning Container")
	}
	host, err := registryHost(region)
	if err != nil {
		return "", err
	}
	tag := version + "-" + string(proc)
	if training || fw.inferencePy {
		tag += "-" + py
	}
	return host + "/" + repo + ":" + tag, nil
}

func newest(versions map[string]string) string {
	keys := sortedKeys(versions)
	return keys[len(keys)-1]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

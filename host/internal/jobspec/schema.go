package jobspec

import _ "embed"

// Schema is the JSON Schema of a job spec file, for editors to validate
// against; 'neural-host job schema' prints it.
//
//go:embed schema.json
var Schema []byte

package sdk

import (
	"os"
	"path/filepath"
)

// CheckWorkDir reports a work dir or entrypoint that cannot be shipped,
// before any bundle is built: a bundle would fail later with a less
// helpful message, after the plugin had spent a platform call. A spec
// without a work dir passes; platforms that need one say so themselves.
func CheckWorkDir(spec JobSpec) error {
	if spec.WorkDir == "" {
		return nil
	}
	if st, err := os.Stat(spec.WorkDir); err != nil || !st.IsDir() {
		return FieldError("workdir", spec.WorkDir+" is not a directory", "point workdir at the directory holding the job's files")
	}
	if spec.Entrypoint != "" {
		if _, err := os.Stat(filepath.Join(spec.WorkDir, spec.Entrypoint)); err != nil {
			return FieldError("entrypoint", spec.Entrypoint+" does not exist in "+spec.WorkDir, "name a file inside workdir")
		}
	}
	return nil
}

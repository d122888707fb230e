package store

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeBomb writes a release archive whose one member claims size bytes of
// zeros. gzip readers accept concatenated streams, so a block of zeros is
// compressed once and repeated: the file stays small and nothing the size
// of the member is ever held in memory.
func writeBomb(t *testing.T, path, member string, size int64) {
	t.Helper()
	const block = 8 << 20
	if size%block != 0 {
		t.Fatalf("bomb size %d is not a multiple of %d", size, block)
	}
	gz := func(b []byte) []byte {
		var out bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
		zw.Write(b)
		zw.Close()
		return out.Bytes()
	}
	var hdr bytes.Buffer
	tw := tar.NewWriter(&hdr)
	if err := tw.WriteHeader(&tar.Header{Name: member, Mode: 0o755, Size: size, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Flush()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write(gz(hdr.Bytes()))
	zeros := gz(make([]byte, block))
	for n := int64(0); n < size; n += block {
		if _, err := f.Write(zeros); err != nil {
			t.Fatal(err)
		}
	}
	f.Write(gz(make([]byte, 1024))) // the tar end marker
}

// writeTar writes a release archive holding the given members in order.
func writeTar(t *testing.T, path string, members ...*tar.Header) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	for _, h := range members {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write(bytes.Repeat([]byte("b"), int(h.Size)))
		}
	}
	tw.Close()
	zw.Close()
}

func TestOpenBinaryRefusesGzipBomb(t *testing.T) {
	dir := t.TempDir()
	a := Archive{Path: filepath.Join(dir, ArchiveName("bomb", "1.0.0", Platform())), Name: "bomb", Version: "1.0.0", Platform: Platform()}
	writeBomb(t, a.Path, "neural-plugin-bomb", 2<<30)
	st, err := os.Stat(a.Path)
	if err != nil || st.Size() > 4<<20 {
		t.Fatalf("the bomb is %v bytes (%v); it should be a few MiB", st.Size(), err)
	}
	r, err := a.OpenBinary()
	if err == nil {
		r.Close()
	}
	var ie *InstallError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "2048 MiB, more than the 512 MiB") {
		t.Fatalf("OpenBinary = %v, want a refusal naming the size and the limit", err)
	}
	if _, err := a.BinarySHA256(); !errors.As(err, &ie) {
		t.Errorf("BinarySHA256 = %v, want the same refusal", err)
	}
}

func TestOpenBinaryRefusesUnexpectedMembers(t *testing.T) {
	bin := func(name string) *tar.Header {
		return &tar.Header{Name: name, Mode: 0o755, Size: 3, Typeflag: tar.TypeReg}
	}
	for _, tc := range []struct {
		what    string
		members []*tar.Header
		want    string
	}{
		{"the binary alone", []*tar.Header{bin("neural-plugin-x")}, ""},
		{"the binary as ./", []*tar.Header{bin("./neural-plugin-x")}, ""},
		{"nothing", nil, "has no neural-plugin-x"},
		{"another file first", []*tar.Header{bin("README"), bin("neural-plugin-x")}, `holds "README"`},
		{"the binary in a directory", []*tar.Header{bin("../neural-plugin-x")}, `holds "../neural-plugin-x"`},
		{"a symlink", []*tar.Header{{Name: "neural-plugin-x", Linkname: "/bin/sh", Typeflag: tar.TypeSymlink}}, "only the regular file"},
		{"a file after the binary", []*tar.Header{bin("neural-plugin-x"), bin("extra")}, `holds "extra" after the plugin binary`},
	} {
		t.Run(tc.what, func(t *testing.T) {
			a := Archive{Path: filepath.Join(t.TempDir(), ArchiveName("x", "1.0.0", Platform())), Name: "x"}
			writeTar(t, a.Path, tc.members...)
			_, err := a.BinarySHA256()
			if got := fmt.Sprint(err); (tc.want == "") != (err == nil) || (tc.want != "" && !strings.Contains(got, tc.want)) {
				t.Errorf("BinarySHA256 = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestParseArchive(t *testing.T) {
	for _, tc := range []struct {
		file string
		ok   bool
	}{
		{"neural-plugin-local_v0.1.0_linux_amd64.tar.gz", true},
		{"neural-plugin-my-cloud_v1.2.0-rc.1_darwin_arm64.tar.gz", true},
		{"neural-plugin-Local_v0.1.0_linux_amd64.tar.gz", false},
		{"neural-plugin-..%2f_v0.1.0_linux_amd64.tar.gz", false},
		{"neural-plugin-a.b_v0.1.0_linux_amd64.tar.gz", false},
		{"neural-plugin-local_v..._linux_amd64.tar.gz", false},
		{"neural-plugin-local_v0.1_linux_amd64.tar.gz", false},
		{"neural-plugin-_v0.1.0_linux_amd64.tar.gz", false},
	} {
		if _, ok := ParseArchive(filepath.Join("/m", tc.file)); ok != tc.ok {
			t.Errorf("ParseArchive(%s) ok = %v, want %v", tc.file, ok, tc.ok)
		}
	}
}

func TestVerifyArchive(t *testing.T) {
	for _, tc := range []struct {
		what string
		sums func(name, sum string) string // "" writes no SHA256SUMS
		want string
	}{
		{"listed with its sum", func(n, s string) string { return s + "  " + n + "\n" }, ""},
		{"listed in binary mode", func(n, s string) string { return s + " *" + n + "\n" }, ""},
		{"no SHA256SUMS", func(string, string) string { return "" }, "has no SHA256SUMS beside it"},
		{"not listed", func(_, s string) string { return s + "  other.tar.gz\n" }, "is not listed in"},
		{"another sum", func(n, _ string) string { return strings.Repeat("0", 64) + "  " + n + "\n" }, "but SHA256SUMS beside it says 0000"},
	} {
		t.Run(tc.what, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "neural-plugin-x")
			os.WriteFile(bin, []byte("bin"), 0o755)
			path, sum, err := WriteArchive(dir, bin, "x", "1.0.0", Platform())
			if err != nil {
				t.Fatal(err)
			}
			if body := tc.sums(filepath.Base(path), sum); body != "" {
				os.WriteFile(filepath.Join(dir, SumsFile), []byte(body), 0o644)
			}
			err = VerifyArchive(path)
			var ie *InstallError
			if got := fmt.Sprint(err); (tc.want == "") != (err == nil) || (err != nil && (!errors.As(err, &ie) || !strings.Contains(got, tc.want))) {
				t.Errorf("VerifyArchive = %v, want %q", err, tc.want)
			}
			if err != nil && !strings.Contains(ie.Hint, "fetch") {
				t.Errorf("hint %q does not say how to recover", ie.Hint)
			}
		})
	}
}

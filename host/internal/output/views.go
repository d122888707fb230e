package output

import (
	"fmt"
	"path/filepath"
	"strings"
)

// The views of the cost, files, endpoint, platforms, auth, plugins, init,
// version and completion commands.

// Human writes the estimate as key/value pairs.
func (e Estimate) Human(p *Printer) error {
	price, total := "unknown", "unknown"
	if e.Known && e.TotalUSD != nil {
		price, total = fmt.Sprintf("$%.4f/h", e.USDPerHour), fmt.Sprintf("$%.2f", *e.TotalUSD)
	}
	p.KV([][2]string{{"Platform", e.Platform}, {"Instance", e.InstanceType}, {"Price", price}, {"Hours", fmt.Sprint(e.Hours)},
		{"Total", total + " (estimate)"}, {"Source", e.Source}, {"As of", e.AsOf}})
	return nil
}

// Comparison is cost compare: each platform's cheapest offer, known prices
// first, cheapest first.
type Comparison struct {
	Hours  float64 `json:"hours"`
	Offers []Offer `json:"offers"`

	// overrides is the directory of the user's price files, for people.
	overrides string
}

// ComparisonOf makes a Comparison; overrides is the user's price directory.
func ComparisonOf(hours float64, offers []Offer, overrides string) Comparison {
	if offers == nil {
		offers = []Offer{}
	}
	return Comparison{Hours: hours, Offers: offers, overrides: overrides}
}

// Human writes one ranked row per platform.
func (c Comparison) Human(p *Printer) error {
	var rows [][]string
	for i, o := range c.Offers {
		rank, price, total := fmt.Sprint(i+1), "unknown", "unknown"
		if o.Known && o.TotalUSD != nil {
			price, total = fmt.Sprintf("$%.4f/h", o.USDPerHour), fmt.Sprintf("$%.2f", *o.TotalUSD)
			if o.Spot {
				price += " spot"
			}
		} else {
			rank = "-"
		}
		rows = append(rows, []string{rank, o.Platform, o.InstanceType, o.Region, price, total, o.Detail, o.AsOf})
	}
	p.Table([]string{"RANK", "PLATFORM", "INSTANCE", "REGION", "PRICE", fmt.Sprintf("TOTAL (%gh)", c.Hours), "DETAIL", "AS OF"}, rows)
	fmt.Fprintln(p.Out, "Prices are estimates from each plugin's dated catalog and your overrides in "+c.overrides+".")
	return nil
}

// Human writes "URI (SIZE)".
func (f File) Human(p *Printer) error {
	fmt.Fprintf(p.Out, "%s (%s)\n", Escape(f.URI), Bytes(f.Size))
	return nil
}

// FileList is files ls.
type FileList struct {
	Files         []File `json:"files"`
	NextPageToken string `json:"next_page_token"`
}

// Human writes one row per file and how to continue.
func (l FileList) Human(p *Printer) error {
	var rows [][]string
	for _, f := range l.Files {
		size := Bytes(f.Size)
		if f.IsDir {
			size = "dir"
		}
		rows = append(rows, []string{f.URI, size, f.ModifiedAt})
	}
	p.Table([]string{"URI", "SIZE", "MODIFIED"}, rows)
	if l.NextPageToken != "" {
		fmt.Fprintf(p.Out, "more: --page-token %s\n", Escape(l.NextPageToken))
	}
	return nil
}

// Transfer returns a progress function for a file transfer that redraws
// one line on Err, or nil when nobody watches (JSON, or not a terminal).
func (p *Printer) Transfer(terminal bool) (progress func(done, total int64), finish func()) {
	if p.Format == JSON || !terminal || p.Err == nil {
		return nil, func() {}
	}
	progress = func(done, total int64) {
		if total > 0 {
			fmt.Fprintf(p.Err, "\r%s / %s (%d%%)", Bytes(done), Bytes(total), done*100/total)
		} else {
			fmt.Fprintf(p.Err, "\r%s", Bytes(done))
		}
	}
	return progress, func() { fmt.Fprintln(p.Err) }
}

// Bytes formats n in binary units.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Human writes the endpoint as key/value pairs.
func (e Endpoint) Human(p *Printer) error {
	p.KV([][2]string{{"Endpoint", e.Name}, {"Platform", e.Platform}, {"State", e.State}, {"Ready", fmt.Sprint(e.Ready)},
		{"URL", e.URL}, {"Model", e.ModelURI}, {"Message", e.Message}, {"Created", e.CreatedAt}})
	return nil
}

// Endpoints is endpoint list.
type Endpoints []Endpoint

// Human writes one row per endpoint.
func (es Endpoints) Human(p *Printer) error {
	var rows [][]string
	for _, e := range es {
		rows = append(rows, []string{e.Name, e.State, fmt.Sprint(e.Ready), e.URL})
	}
	p.Table([]string{"ENDPOINT", "STATE", "READY", "URL"}, rows)
	return nil
}

// EndpointDeleted is endpoint delete.
type EndpointDeleted struct {
	Platform string `json:"platform"`
	Name     string `json:"name"`
	Deleted  bool   `json:"deleted"`
}

// Human says what was deleted.
func (e EndpointDeleted) Human(p *Printer) error {
	fmt.Fprintf(p.Out, "Deleted endpoint %s on %s\n", Escape(e.Name), e.Platform)
	return nil
}

// Platforms is platforms [NAME] and plugins info: an array of Platform.
// People get a table, or for one named platform its details.
type Platforms struct {
	Rows []Platform

	// dirs are the directories searched, for saying where none was found;
	// detail is true when one platform was named.
	dirs   []string
	detail bool
}

// PlatformsOf makes a Platforms view.
func PlatformsOf(rows []Platform, dirs []string, detail bool) Platforms {
	if rows == nil {
		rows = []Platform{}
	}
	return Platforms{Rows: rows, dirs: dirs, detail: detail}
}

// MarshalJSON writes the rows alone: the shape is an array.
func (ps Platforms) MarshalJSON() ([]byte, error) { return marshal(ps.Rows) }

// Human writes a table, or the one platform's details.
func (ps Platforms) Human(p *Printer) error {
	switch {
	case len(ps.Rows) == 0:
		fmt.Fprintf(p.Out, "No platform plugins found in %v.\n", ps.dirs)
	case ps.detail:
		ps.Rows[0].detail(p)
	default:
		var table [][]string
		for _, r := range ps.Rows {
			if r.Error != "" {
				table = append(table, []string{r.Name, "-", "-", "error: " + r.Error, r.Path})
				continue
			}
			table = append(table, []string{r.Name, r.Version, fmt.Sprint(r.ProtocolVersion), r.Capabilities.String(), r.Path})
		}
		p.Table([]string{"PLATFORM", "VERSION", "PROTOCOL", "CAPABILITIES", "PATH"}, table)
	}
	return nil
}

func (r Platform) detail(p *Printer) {
	p.KV([][2]string{{"Platform", r.Name}, {"Version", r.Version}, {"Protocol", fmt.Sprint(r.ProtocolVersion)},
		{"SDK", r.SDKVersion}, {"Description", r.Description}, {"Capabilities", r.Capabilities.String()}, {"Path", r.Path}, {"Error", r.Error}})
	if len(r.Config) == 0 {
		return
	}
	fmt.Fprintln(p.Out, "\nSettings (environment first, then platforms."+r.Name+".KEY in the config file, then the default):")
	var rows [][]string
	for _, f := range r.Config {
		var flags []string
		if f.Required {
			flags = append(flags, "required")
		}
		if f.Secret {
			flags = append(flags, "secret")
		}
		rows = append(rows, []string{"  " + f.Key, strings.Join(f.EnvVars, ","), f.Default, strings.Join(flags, ","), f.Description})
	}
	p.Table([]string{"  KEY", "ENV", "DEFAULT", "", "DESCRIPTION"}, rows)
}

// String lists the capabilities served, comma-separated.
func (c Capabilities) String() string {
	var out []string
	for _, x := range []struct {
		on   bool
		name string
	}{{c.Jobs, "jobs"}, {c.LogFollow, "logs-follow"}, {c.Plan, "plan"}, {c.Files, "files"}, {c.Deploy, "deploy"}, {c.Usage, "usage"}, {c.Prices, "prices"}, {c.JobStates, "job-states"}} {
		if x.on {
			out = append(out, x.name)
		}
	}
	return strings.Join(out, ",")
}

// AuthChecks is auth check: one row per platform.
type AuthChecks []Auth

// Human writes one row per platform, with the first hint.
func (as AuthChecks) Human(p *Printer) error {
	var table [][]string
	for _, r := range as {
		detail := r.Message
		if r.Hint != "" {
			detail += " (hint: " + r.Hint + ")"
		}
		if r.Status == "ok" && r.Message == "" {
			detail = r.Account
		}
		table = append(table, []string{r.Platform, r.Status, r.Identity, detail})
	}
	p.Table([]string{"PLATFORM", "STATUS", "IDENTITY", "DETAIL"}, table)
	return nil
}

// Human says how many settings were stored and which the environment
// overrides.
func (c CredentialsSaved) Human(p *Printer) error {
	fmt.Fprintf(p.Out, "Stored %d settings for %s in %s.\n", len(c.Keys), c.Platform, c.Path)
	for _, k := range c.OverriddenByEnv {
		fmt.Fprintf(p.Out, "note: an environment variable overrides the stored %s\n", k)
	}
	fmt.Fprintf(p.Out, "Check them with: neural-host auth check %s\n", c.Platform)
	return nil
}

// Human says whether anything was removed.
func (c CredentialsRemoved) Human(p *Printer) error {
	if c.Removed {
		fmt.Fprintf(p.Out, "Removed the stored settings of %s from %s.\n", c.Platform, c.Path)
	} else {
		fmt.Fprintf(p.Out, "Nothing was stored for %s in %s.\n", c.Platform, c.Path)
	}
	return nil
}

// Human writes the script itself.
func (c Completion) Human(p *Printer) error {
	_, err := fmt.Fprint(p.Out, c.Script)
	return err
}

// Version is version.
type Version struct {
	Version         string `json:"version"`
	ProtocolVersion int    `json:"protocol_version"`
	SDKVersion      string `json:"sdk_version"`
}

// Human writes one line.
func (v Version) Human(p *Printer) error {
	fmt.Fprintf(p.Out, "neural-host %s (plugin protocol %d, sdk %s)\n", v.Version, v.ProtocolVersion, v.SDKVersion)
	return nil
}

// PluginInstalled is plugins install.
type PluginInstalled struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Platform string `json:"platform"`
	SHA256   string `json:"sha256"`
	Path     string `json:"path"`
	Source   string `json:"source"`
	// Lock is the lock file the install was recorded in, or "".
	Lock string `json:"lock"`
}

// Human says what was installed where.
func (i PluginInstalled) Human(p *Printer) error {
	fmt.Fprintf(p.Out, "Installed %s %s for %s into %s\n  sha256 %s\n", i.Name, i.Version, i.Platform, i.Path, i.SHA256)
	if i.Lock != "" {
		fmt.Fprintf(p.Out, "  recorded in %s\n", i.Lock)
	}
	return nil
}

// ListedPlugin is one row of plugins list.
type ListedPlugin struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Protocol int    `json:"protocol_version"`
	SHA256   string `json:"sha256"`
	Source   string `json:"source"`
	Path     string `json:"path"`
}

// PluginList is plugins list.
type PluginList []ListedPlugin

// Human writes one row per plugin; a binary not installed through the
// store has no recorded version or checksum.
func (l PluginList) Human(p *Printer) error {
	var table [][]string
	for _, r := range l {
		v, sum := r.Version, r.SHA256
		if v == "" {
			v, sum = "-", "(unchecked)"
		} else {
			sum = sum[:min(12, len(sum))]
		}
		table = append(table, []string{r.Name, v, r.Source, sum, r.Path})
	}
	p.Table([]string{"PLUGIN", "VERSION", "SOURCE", "SHA256", "PATH"}, table)
	return nil
}

// PluginsRemoved is plugins remove and plugins prune.
type PluginsRemoved struct {
	Removed []string `json:"removed"`
}

// Human writes each removed path.
func (r PluginsRemoved) Human(p *Printer) error {
	for _, path := range r.Removed {
		fmt.Fprintf(p.Out, "removed %s\n", path)
	}
	if len(r.Removed) == 0 {
		fmt.Fprintln(p.Out, "nothing to remove")
	}
	return nil
}

// Mirror is plugins mirror.
type Mirror struct {
	Mirror   string   `json:"mirror"`
	Archives []string `json:"archives"`

	sums string
}

// MirrorOf makes a Mirror view; sums is the checksum file's name.
func MirrorOf(dir string, archives []string, sums string) Mirror {
	return Mirror{Mirror: dir, Archives: archives, sums: sums}
}

// Human writes each archive, then the checksum file.
func (m Mirror) Human(p *Printer) error {
	for _, a := range m.Archives {
		fmt.Fprintln(p.Out, a)
	}
	fmt.Fprintln(p.Out, filepath.Join(m.Mirror, m.sums))
	return nil
}

// Check is one conformance check.
type Check struct {
	Check  string `json:"check"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// Conformance is plugins conformance.
type Conformance struct {
	Binary string  `json:"binary"`
	Passed bool    `json:"passed"`
	Checks []Check `json:"checks"`
}

// Human writes one row per check.
func (c Conformance) Human(p *Printer) error {
	var rows [][]string
	for _, r := range c.Checks {
		mark := "ok"
		if !r.OK {
			mark = "FAIL"
		}
		rows = append(rows, []string{r.Check, mark, r.Detail})
	}
	p.Table([]string{"CHECK", "RESULT", "DETAIL"}, rows)
	return nil
}

// Scaffold is plugins new.
type Scaffold struct {
	Name  string   `json:"name"`
	Dir   string   `json:"dir"`
	Files []string `json:"files"`
}

// Human writes each file and what to do next.
func (s Scaffold) Human(p *Printer) error {
	for _, f := range s.Files {
		fmt.Fprintln(p.Out, f)
	}
	fmt.Fprintf(p.Out, "\nNext: cd %s && make build && make test && make install\n", s.Dir)
	return nil
}

// InitPlugin is one required plugin of init.
type InitPlugin struct {
	Plugin  string `json:"plugin"`
	Version string `json:"version"`
	// Action is "already installed" or "installed from DIR".
	Action string `json:"action"`
}

// Init is init.
type Init struct {
	Project string       `json:"project"`
	Lock    string       `json:"lock"`
	Plugins []InitPlugin `json:"plugins"`
}

// Human writes one row per plugin.
func (in Init) Human(p *Printer) error {
	var rows [][]string
	for _, pl := range in.Plugins {
		rows = append(rows, []string{pl.Plugin, pl.Version, pl.Action})
	}
	p.Table([]string{"PLUGIN", "VERSION", "ACTION"}, rows)
	return nil
}

package cli

import (
	"fmt"

	"github.com/neural-dsl/neural-host/host/internal/output"
	"github.com/urfave/cli/v2"
)

// completeFlag is the flag the shell scripts append to ask the CLI itself
// for the words that may come next.
const completeFlag = "--generate-bash-completion"

// completionArgs leaves a completion request's arguments in their order:
// the completion flag must stay last, where permute would not keep it.
func completionArgs(app *cli.App, args []string) []string {
	if len(args) > 1 && args[len(args)-1] == completeFlag {
		return args
	}
	return permute(app, args)
}

// The bash and zsh scripts run the command line typed so far with the
// completion flag, so they always match the installed neural-host. The bash
// one needs no bash-completion package.
const bashCompletion = `# bash completion for neural-host. Load with: source <(neural-host completion bash)
_neural_host_complete() {
  local cur="${COMP_WORDS[COMP_CWORD]}"
  local -a words=("${COMP_WORDS[@]:0:COMP_CWORD}")
  local opts
  if [[ "$cur" == -* ]]; then
    opts=$("${words[@]}" "$cur" ` + completeFlag + ` 2>/dev/null)
  else
    opts=$("${words[@]}" ` + completeFlag + ` 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -o bashdefault -o default -F _neural_host_complete neural-host
`

const zshCompletion = `#compdef neural-host
# zsh completion for neural-host. Load with: source <(neural-host completion zsh)
_neural_host() {
  local -a opts
  local cur=${words[-1]}
  if [[ "$cur" == -* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} ` + completeFlag + ` 2>/dev/null)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ` + completeFlag + ` 2>/dev/null)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef _neural_host neural-host
`

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script for bash, zsh or fish",
		ArgsUsage: "bash|zsh|fish",
		Description: "bash: source <(neural-host completion bash)   (or save it in /etc/bash_completion.d)\n" +
			"zsh:  source <(neural-host completion zsh)    (or save it as _neural-host in a directory on $fpath)\n" +
			"fish: neural-host completion fish > ~/.config/fish/completions/neural-host.fish",
		Action: func(c *cli.Context) error {
			s := sess(c)
			if c.NArg() != 1 {
				return usageError("give one shell: bash, zsh or fish")
			}
			shell := c.Args().First()
			var script string
			switch shell {
			case "bash":
				script = bashCompletion
			case "zsh":
				script = zshCompletion
			case "fish":
				var err error
				if script, err = c.App.ToFishCompletion(); err != nil {
					return fmt.Errorf("cli: fish completion: %w", err)
				}
			default:
				return usageError(fmt.Sprintf("%q: completion scripts exist for bash, zsh and fish", shell))
			}
			return s.out.Show(output.Completion{Shell: shell, Script: script})
		},
	}
}

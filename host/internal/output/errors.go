package output

import "fmt"

// Human writes each problem as "error: …", with its hint on the next line.
func (e Error) Human(p *Printer) error {
	for _, pr := range e.Error.Problems {
		if pr.Hint != "" {
			msg := pr.Message
			if pr.Field != "" {
				msg = pr.Field + ": " + msg
			}
			fmt.Fprintf(p.Out, "error: %s\n  hint: %s\n", EscapeText(msg), EscapeText(pr.Hint))
			continue
		}
		fmt.Fprintf(p.Out, "error: %s\n", EscapeText(pr.text))
	}
	return nil
}

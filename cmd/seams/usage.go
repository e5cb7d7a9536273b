package main

import (
	"strings"

	"github.com/seams-dev/seams"
)

// fieldUsage turns the field errors of a library's options (see
// seams.FieldError) into one usage error of command cmd that names its
// flags: "missing --out", "--max-line: 10 is too small". flagOf maps
// fields, as Go spells them, to flags ("max-line"), or to what names them
// when it starts with "-" ("--reports or --findings"); a field without a
// flag is named as it is. Other errors joined with them are kept as they
// are.
func fieldUsage(cmd string, flagOf map[string]string, err error) error {
	fields, others := seams.FieldErrors(err)
	var lines []string
	for _, fe := range fields {
		flag := fe.Field
		if f := flagOf[fe.Field]; strings.HasPrefix(f, "-") {
			flag = f
		} else if f != "" {
			flag = "--" + f
		}
		if fe.Missing {
			lines = append(lines, "missing "+flag)
		} else {
			lines = append(lines, flag+": "+fe.Reason)
		}
	}
	for _, e := range others {
		lines = append(lines, strings.TrimPrefix(e.Error(), seams.ErrUsage.Error()+": "))
	}
	return usagef(cmd, "%s", strings.Join(lines, "\n"))
}

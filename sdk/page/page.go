// Package page makes and reads the page tokens of listings a plugin pages
// itself by offset: a local directory, a fake server, an API that returns
// everything at once. The token is the decimal offset of the next item.
// It does not page platform listings that have their own tokens; those
// pass the platform's token through untouched.
package page

import (
	"fmt"
	"strconv"

	"github.com/neural-dsl/neural-host/sdk"
)

// Token is the NextPageToken of a listing that goes on at offset.
func Token(offset int) string { return strconv.Itoa(offset) }

// Offset reads a token made by Token; "" is offset 0. Anything else is an
// invalid-argument error naming page_token.
func Offset(token string) (int, error) {
	if token == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(token)
	if err != nil || n < 0 {
		return 0, sdk.FieldError("page_token", fmt.Sprintf("%q is not a page token this plugin issued", token), "list again from the first page, without a page token")
	}
	return n, nil
}

// Window is the page of a listing of total items that token and size
// ask for: items [start, end), and the token of the next page, empty on
// the last. A size of zero or less means defaultSize. A token past the
// end is refused: the listing shrank, or the token came from elsewhere.
func Window(token string, size, defaultSize, total int) (start, end int, next string, err error) {
	start, err = Offset(token)
	if err != nil {
		return 0, 0, "", err
	}
	if start > total {
		return 0, 0, "", sdk.FieldError("page_token", fmt.Sprintf("%q is past the end of the listing", token), "list again from the first page, without a page token")
	}
	if size <= 0 {
		size = defaultSize
	}
	end = min(start+size, total)
	if end < total {
		next = Token(end)
	}
	return start, end, next, nil
}

package room

import (
	"strconv"
	"strings"
)

// Float returns the fraction's value when it is a decimal ("0.25") or a ratio of decimals
// ("1/3") in [0, 1].
func (f Fraction) Float() (float64, bool) {
	num, den, isRatio := strings.Cut(string(f), "/")
	n, ok := decimal(num)
	if !ok {
		return 0, false
	}
	if isRatio {
		d, ok := decimal(den)
		if !ok || d == 0 {
			return 0, false
		}
		n /= d
	}
	return n, n >= 0 && n <= 1
}

// decimal parses an unsigned decimal number without exponent ("3", "0.25", ".5").
func decimal(s string) (float64, bool) {
	digits := strings.Replace(s, ".", "", 1)
	if digits == "" || len(s) > 32 || strings.TrimLeft(digits, "0123456789") != "" {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

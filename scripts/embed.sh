#!/bin/sh
# embed.sh NAME FILE: FILE as the C string `const char NAME[]` on stdout, for files the binary
# carries (the HTML report's CSS and JS). Its lines are joined (a line break in FILE is only for
# reading) and whole-line /* comments */ are left out. POSIX sed only: builds anywhere,
# the static binary included.
set -eu
printf '/* Generated from %s by scripts/embed.sh; do not edit. */\nconst char %s[] =\n' "$2" "$1"
sed -e '/^\/\*.*\*\/$/d' -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t"/' -e 's/$/"/' "$2"
printf '\t"";\n'

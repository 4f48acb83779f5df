#!/bin/sh
# Write the cmocka main() of a unit test file to stdout: every `static void test_*(void **state)`
# in it, in file order, and its group_setup/group_teardown when it has them. A file without a
# test is an error, so a rule that no longer matches fails the build instead of passing.
set -eu
src=$1
name=$(basename "$src" .c)
tests=$(sed -n 's/^static void \(test_[A-Za-z0-9_]*\)(void \*\*state).*/\1/p' "$src")
if [ -z "$tests" ]; then
	echo "gen-test-main.sh: no 'static void test_*(void **state)' in $src" >&2
	exit 1
fi
setup=NULL
teardown=NULL
grep -q '^static int group_setup(void \*\*state)' "$src" && setup=group_setup
grep -q '^static int group_teardown(void \*\*state)' "$src" && teardown=group_teardown
echo "/* Generated from $src by scripts/gen-test-main.sh; do not edit. */"
echo "#include \"$name.c\""
echo
echo "static const struct CMUnitTest tkt_unit_tests[] = {"
for t in $tests; do
	echo "	cmocka_unit_test($t),"
done
echo "};"
echo
echo "int main(void)"
echo "{"
echo "	return cmocka_run_group_tests_name(\"$name\", tkt_unit_tests, $setup, $teardown);"
echo "}"

/* Unit tests for user/system/passwd.c: the privilege drop's own passwd(5)/group(5) reading. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include "passwd.h"

static const char PASSWD[] = "root:x:0:0:root:/root:/bin/bash\n"
			     "# a comment\n"
			     "+nisuser::1000:1000:::\n"
			     "broken line\n"
			     "alice:x:1000:1001:Alice,,,:/home/alice:/bin/zsh\n"
			     "bob:x:1002:1002::/home/bob:"; /* no final newline */

static void test_passwd_find(void **state)
{
	struct tkt_pwent pw;

	(void)state;
	assert_true(tkt_passwd_find(PASSWD, strlen(PASSWD), 1000, &pw));
	assert_string_equal(pw.name, "alice");
	assert_int_equal(pw.gid, 1001);
	assert_string_equal(pw.home, "/home/alice");
	assert_string_equal(pw.shell, "/bin/zsh");
	assert_true(tkt_passwd_find(PASSWD, strlen(PASSWD), 1002, &pw));
	assert_string_equal(pw.name, "bob");
	assert_string_equal(pw.shell, "");
	assert_false(tkt_passwd_find(PASSWD, strlen(PASSWD), 5, &pw));
	assert_false(tkt_passwd_find("", 0, 0, &pw));
}

static void test_group_list(void **state)
{
	static const char GROUP[] = "adm:x:4:syslog,alice\n"
				    "alice:x:1001:\n"
				    "sudo:x:27:bob,alice\n"
				    "foo:x:28:alicex,xalice\n"
				    "again:x:4:alice\n"
				    "docker:x:999:alice";
	gid_t g[8];
	int n;

	(void)state;
	n = tkt_group_list(GROUP, strlen(GROUP), "alice", 1001, g, 8);
	assert_int_equal(n, 4);
	assert_int_equal(g[0], 1001); /* the primary group first */
	assert_int_equal(g[1], 4);
	assert_int_equal(g[2], 27);
	assert_int_equal(g[3], 999);
	/* Bounded. */
	n = tkt_group_list(GROUP, strlen(GROUP), "alice", 1001, g, 2);
	assert_int_equal(n, 2);
	n = tkt_group_list(GROUP, strlen(GROUP), "nobody", 65534, g, 8);
	assert_int_equal(n, 1);
	assert_int_equal(g[0], 65534);
}

static void test_files_and_static(void **state)
{
	struct tkt_pwent pw;

	(void)state;
	assert_int_equal(tkt_files_user("/etc/passwd", 0, &pw), 0);
	assert_string_equal(pw.name, "root");
	assert_true(tkt_files_user("/nonexistent/passwd", 0, &pw) < 0);
	/* The unit tests are linked dynamically. */
	assert_false(tkt_is_static());
}

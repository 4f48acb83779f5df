/* Kernel log parsing for explain-kmsg: the lines of mm/oom_kill.c and mm/memcontrol.c. */
#include "kmsg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tkt_kmsg_init(struct tkt_kmsg *k)
{
	memset(k, 0, sizeof(*k));
}

void tkt_kmsg_free(struct tkt_kmsg *k)
{
	free(k->ooms);
	memset(k, 0, sizeof(*k));
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Decimal digits at *s, no sign, no overflow; advances *s. */
static bool num(const char **s, uint64_t *out)
{
	const char *p = *s;
	uint64_t v = 0;

	if (!is_digit(*p))
		return false;
	for (; is_digit(*p); p++) {
		if (v > (UINT64_MAX - (*p - '0')) / 10)
			return false;
		v = v * 10 + (*p - '0');
	}
	*s = p;
	*out = v;
	return true;
}

/* "[  123.456789]": seconds since boot. *s is past the ']' on success. */
static bool bracket_ts(const char **s, double *ts)
{
	const char *p = *s + 1;
	uint64_t sec, frac = 0;
	double scale = 1;

	while (*p == ' ')
		p++;
	if (!num(&p, &sec))
		return false;
	if (*p == '.') {
		const char *f = ++p;
		if (!num(&p, &frac) || p - f > 9)
			return false;
		for (long i = 0; i < p - f; i++)
			scale *= 10;
	}
	if (*p != ']')
		return false;
	*ts = (double)sec + (double)frac / scale;
	*s = p + 1;
	return true;
}

/* /dev/kmsg: "PRIO,SEQ,USEC,FLAGS[,...];MESSAGE". */
static bool kmsg_prefix(const char **s, double *ts)
{
	const char *p = *s;
	uint64_t v, usec;

	if (!num(&p, &v) || *p++ != ',' || !num(&p, &v) || *p++ != ',' || !num(&p, &usec) ||
	    *p != ',')
		return false;
	p = strchr(p, ';');
	if (!p)
		return false;
	*ts = (double)usec / 1e6;
	*s = p + 1;
	return true;
}

const char *tkt_kmsg_strip(const char *line, size_t len, size_t *msglen, bool *has_ts, double *ts)
{
	const char *s = line, *k;
	bool journal = false;

	(void)len;
	*has_ts = false;
	/* syslog(2) and some files: "<4>" */
	if (*s == '<') {
		const char *p = s + 1;
		uint64_t v;
		if (num(&p, &v) && *p == '>')
			s = p + 1;
	}
	if (kmsg_prefix(&s, ts)) {
		*has_ts = true;
	} else {
		if (*s == '[') {
			if (bracket_ts(&s, ts)) {
				*has_ts = true;
			} else {
				/* dmesg -T: "[Thu Nov 26 05:00:00 2026]" */
				const char *e = strchr(s, ']');
				if (e && e - s < 64)
					s = e + 1;
			}
			while (*s == ' ')
				s++;
		}
		/* journalctl -k, syslog files: "Nov 26 05:00:00 host kernel: " */
		k = strstr(s, "kernel: ");
		if (k && k - s < 160) {
			s = k + 8;
			journal = true;
		}
		if (journal && *s == '[') {
			double t;
			if (bracket_ts(&s, &t)) {
				*ts = t;
				*has_ts = true;
			}
			while (*s == ' ')
				s++;
		}
	}
	*msglen = strlen(s);
	return s;
}

static void copy_str(char *dst, size_t dsz, const char *src, size_t n)
{
	if (n >= dsz)
		n = dsz - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	/* Control characters never reach a terminal from here. */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f)
			dst[i] = '?';
}

static struct tkt_kmsg_oom *new_oom(struct tkt_kmsg *k, bool has_ts, double ts)
{
	struct tkt_kmsg_oom *o;

	if (k->nooms == TKT_KMSG_MAX_OOMS)
		return NULL;
	if (k->nooms == k->cap) {
		size_t ncap = k->cap ? k->cap * 2 : 16;
		struct tkt_kmsg_oom *n = realloc(k->ooms, ncap * sizeof(*n));
		if (!n)
			return NULL;
		k->ooms = n;
		k->cap = ncap;
	}
	o = &k->ooms[k->nooms++];
	memset(o, 0, sizeof(*o));
	o->has_ts = has_ts;
	o->ts_s = ts;
	k->open = true;
	return o;
}

static struct tkt_kmsg_oom *cur(struct tkt_kmsg *k)
{
	return k->open && k->nooms ? &k->ooms[k->nooms - 1] : NULL;
}

/* The value of "key" in s up to the first ch, as a number. */
static bool key_num(const char *s, const char *key, uint64_t *out)
{
	const char *p = strstr(s, key);

	if (!p)
		return false;
	p += strlen(key);
	return num(&p, out);
}

/* oom-kill:constraint=C,nodemask=N,cpuset=S,mems_allowed=M,oom_memcg=P,task_memcg=P,task=C,pid=N,uid=N
 * Paths and comm may hold commas: cut at the known keys, the last ones from the right. */
static void oom_kill_line(struct tkt_kmsg *k, const char *m, bool has_ts, double ts)
{
	struct tkt_kmsg_oom *o = cur(k);
	const char *c, *e, *tm, *task = NULL, *pid = NULL, *p;
	uint64_t v;

	if (!o || o->has_constraint || o->has_killed)
		o = new_oom(k, has_ts, ts);
	if (!o)
		return;
	o->has_constraint = true;
	c = m + strlen("oom-kill:constraint=");
	if (strncmp(m, "oom-kill:constraint=", 20) == 0) {
		e = strchr(c, ',');
		copy_str(o->constraint, sizeof(o->constraint), c, e ? (size_t)(e - c) : strlen(c));
	}
	for (p = m; (p = strstr(p, ",pid=")); p++)
		pid = p;
	for (p = m; (p = strstr(p, ",task=")) && (!pid || p < pid); p++)
		task = p;
	tm = strstr(m, ",task_memcg=");
	if (tm && task && tm < task)
		copy_str(o->task_memcg, sizeof(o->task_memcg), tm + 12, task - (tm + 12));
	p = strstr(m, ",oom_memcg=");
	if (p && tm && p < tm)
		copy_str(o->oom_memcg, sizeof(o->oom_memcg), p + 11, tm - (p + 11));
	if (task && pid)
		copy_str(o->comm, sizeof(o->comm), task + 6, pid - (task + 6));
	if (pid) {
		p = pid + 5;
		if (num(&p, &v) && v <= UINT32_MAX)
			o->pid = v;
		if (key_num(p, ",uid=", &v) && v <= UINT32_MAX)
			o->uid = v;
	}
}

/* "... Killed process 1234 (comm) total-vm:NkB, anon-rss:NkB, file-rss:NkB, shmem-rss:NkB,
 * UID:N pgtables:NkB oom_score_adj:N" */
static void killed_line(struct tkt_kmsg *k, const char *m, const char *kp, bool has_ts, double ts)
{
	struct tkt_kmsg_oom *o = cur(k);
	const char *p = kp + strlen("Killed process "), *open, *close;
	uint64_t pid, v;

	if (!num(&p, &pid) || pid > UINT32_MAX || strncmp(p, " (", 2))
		return;
	open = p + 2;
	close = strstr(open, ") total-vm:");
	if (!close)
		close = strrchr(open, ')');
	if (!close)
		return;
	if (!o || o->has_killed || (o->has_constraint && o->pid && o->pid != pid))
		o = new_oom(k, has_ts, ts);
	if (!o)
		return;
	o->has_killed = true;
	o->memcg = strncmp(m, "Memory cgroup out of memory", 27) == 0;
	o->pid = pid;
	copy_str(o->comm, sizeof(o->comm), open, close - open);
	p = close;
	if (key_num(p, "total-vm:", &v))
		o->total_vm_kb = v;
	if (key_num(p, "anon-rss:", &v))
		o->anon_rss_kb = v;
	if (key_num(p, "file-rss:", &v))
		o->file_rss_kb = v;
	if (key_num(p, "shmem-rss:", &v))
		o->shmem_rss_kb = v;
	if (key_num(p, "UID:", &v) && v <= UINT32_MAX)
		o->uid = v;
	if ((p = strstr(p, "oom_score_adj:"))) {
		bool neg;
		p += 14;
		neg = *p == '-';
		if (neg)
			p++;
		if (num(&p, &v) && v <= 1000)
			o->oom_score_adj = neg ? -(int)v : (int)v;
	}
	k->open = false; /* the last line of a kill */
}

int tkt_kmsg_line(struct tkt_kmsg *k, const char *line, size_t len)
{
	char buf[TKT_KMSG_LINE_MAX + 1];
	const char *m, *p;
	size_t mlen;
	bool has_ts;
	double ts = 0;
	struct tkt_kmsg_oom *o;
	uint64_t v;

	if (len > TKT_KMSG_LINE_MAX)
		len = TKT_KMSG_LINE_MAX;
	memcpy(buf, line, len);
	buf[len] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	k->lines++;
	m = tkt_kmsg_strip(buf, strlen(buf), &mlen, &has_ts, &ts);
	if ((p = strstr(m, " invoked oom-killer: "))) {
		if (!(o = new_oom(k, has_ts, ts)))
			return k->nooms == TKT_KMSG_MAX_OOMS ? 0 : -ENOMEM;
		copy_str(o->trigger_comm, sizeof(o->trigger_comm), m, p - m);
	} else if (strncmp(m, "CPU: ", 5) == 0 && (o = cur(k)) && !o->trigger_pid &&
		   (p = strstr(m, " PID: "))) {
		p += 6;
		if (num(&p, &v) && v <= UINT32_MAX)
			o->trigger_pid = v;
	} else if (strncmp(m, "memory: usage ", 14) == 0 && (o = cur(k))) {
		uint64_t usage, limit;
		p = m + 14;
		if (num(&p, &usage) && strncmp(p, "kB, limit ", 10) == 0 && (p += 10, num(&p, &limit))) {
			o->has_usage = true;
			o->usage_kb = usage;
			o->limit_kb = limit;
		}
	} else if (strncmp(m, "oom-kill:", 9) == 0) {
		oom_kill_line(k, m, has_ts, ts);
	} else if ((p = strstr(m, "Killed process "))) {
		killed_line(k, m, p, has_ts, ts);
	}
	return 0;
}

int tkt_kmsg_feed(struct tkt_kmsg *k, const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = data[i];
		k->bytes++;
		if (c == '\0' && !k->nul_at)
			k->nul_at = k->bytes;
		if (c == '\n') {
			int r = tkt_kmsg_line(k, k->line, k->linelen);
			k->linelen = 0;
			k->overlong = false;
			if (r)
				return r;
			continue;
		}
		if (k->linelen < TKT_KMSG_LINE_MAX)
			k->line[k->linelen++] = c ? c : ' ';
		else
			k->overlong = true;
	}
	return 0;
}

int tkt_kmsg_end(struct tkt_kmsg *k)
{
	int r = 0;

	if (k->linelen)
		r = tkt_kmsg_line(k, k->line, k->linelen);
	k->linelen = 0;
	return r;
}

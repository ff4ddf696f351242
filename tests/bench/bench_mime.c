/*
 * bench_mime.c - mime_parse speed over the email corpus: each file parsed
 * N times (parse + free, as ingest does per message).
 *
 *   bench_mime [N [DIR]]    default N = 2000, DIR = tests/corpus/email
 * prints one line per kind of message and a total:
 *   mime: 53 files, 1 kB average: X msgs/s (Y us/msg)
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mime.h"
#include "util.h"

struct sample {
	char *name;
	char *data;
	size_t len;
};

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct sample *)a)->name, ((const struct sample *)b)->name);
}

int
main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2000;
	const char *dir = argc > 2 ? argv[2] : "tests/corpus/email";
	struct sample *s = NULL;
	size_t ns = 0, total_bytes = 0;
	DIR *d;
	struct dirent *e;
	double t0, total = 0;

	if (n <= 0 || (d = opendir(dir)) == NULL) {
		fprintf(stderr, "usage: bench_mime [N [DIR]] (cannot open %s)\n", dir);
		return 64;
	}
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		const char *err;
		char *path;

		if (l < 5 || strcmp(e->d_name + l - 4, ".eml") != 0)
			continue;
		s = xrealloc(s, (ns + 1) * sizeof(*s));
		path = util_path_join(dir, e->d_name);
		if (util_read_file(path, 64u << 20, &s[ns].data, &s[ns].len, &err) < 0) {
			fprintf(stderr, "%s: %s\n", path, err);
			free(path);
			continue;
		}
		free(path);
		s[ns].name = xstrdup(e->d_name);
		total_bytes += s[ns].len;
		ns++;
	}
	closedir(d);
	if (ns == 0) {
		fprintf(stderr, "bench_mime: no .eml files in %s\n", dir);
		return 1;
	}
	qsort(s, ns, sizeof(*s), by_name);
	mime_init();
	for (size_t i = 0; i < ns; i++) {
		double us;

		t0 = now_us();
		for (long k = 0; k < n; k++) {
			struct mime_message *m = mime_parse((const unsigned char *)s[i].data,
			    s[i].len, 0, 10u << 20);
			mime_message_free(&m);
		}
		us = (now_us() - t0) / (double)n;
		total += us;
		printf("  %-44s %6zu bytes %8.1f us/msg\n", s[i].name, s[i].len, us);
	}
	printf("mime: %zu files, %zu bytes average: %.0f msgs/s (%.1f us/msg)\n", ns,
	    total_bytes / ns, 1e6 * (double)ns / total, total / (double)ns);
	for (size_t i = 0; i < ns; i++) {
		free(s[i].name);
		free(s[i].data);
	}
	free(s);
	return 0;
}

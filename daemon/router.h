/*
 * router.h - keyword routing of a report to a department (SPEC section 4).
 *
 * router_new() compiles every department's keywords once (normalised with
 * norm_text) into an index: a hash of whole words / phrase first words, and
 * a hash of '*' stems probed once per stem length that exists (behind an
 * 8 kB bit filter), so routing costs O(words in the text), not
 * O(words x keywords).  A router is immutable after creation (router_route
 * may run in several threads at once) and may be replaced on SIGHUP.
 */
#ifndef S48_ROUTER_H
#define S48_ROUTER_H

#include <stddef.h>

struct s48_config;
struct router;

struct router_dept_score {
	size_t dept;             /* index into cfg->depts */
	int score;               /* distinct keywords found; subject hits count twice */
	char **matched;          /* the keywords (as written in the config) found,
	                            in config order; owned by the result (valid
	                            after router_free), freed by router_result_free */
	size_t n_matched;
};

struct router_result {
	size_t dept;             /* winner: index into cfg->depts */
	int score;               /* winner's score; 0 means default_department */
	struct router_dept_score *scores;   /* every department with score > 0,
	                                       in config order */
	size_t n_scores;
};

/* Never fails on a valid config (keywords that normalise to nothing are skipped). */
struct router *router_new(const struct s48_config *cfg);
void router_free(struct router **r);

/*
 * Route a report.  subject may be NULL (SMS: never weighted); text may be
 * NULL.  Both are raw UTF-8 (normalised inside).  A keyword counts once per
 * department however often it appears; found in the subject it counts 2
 * (in subject and body: still 2).  Highest score wins, ties go to the
 * department listed first, no match -> cfg->default_dept.
 * Fills *res; free with router_result_free().
 */
void router_route(const struct router *r, const char *subject, const char *text,
    struct router_result *res);
void router_result_free(struct router_result *res);

#endif

/*
 * daemon.h - s48d's main loop (SPEC section 1): poll the sources each
 * poll_interval (IMAP IDLE in between when offered), then the SLA clock,
 * source health and the outbox; SIGTERM/SIGINT finish the batch in hand and
 * stop; SIGHUP re-reads the config (kept when invalid).
 */
#ifndef S48_DAEMON_H
#define S48_DAEMON_H

struct s48_config;

/*
 * Run until stopped (once = 0) or one full round (once = 1).  cfg is owned by
 * the loop from here on (replaced on SIGHUP, freed at the end).
 * Returns the exit code: 0, 75 (EX_TEMPFAIL: --once and a source or sender
 * could not be reached), or 1 (the database could not be used).
 */
int daemon_run(struct s48_config *cfg, const char *config_path, int once);

#endif

/* include/dealsim/session.h
 * A run session: the sequence load -> model -> summaries -> open the sink ->
 * run the blocks -> finalize -> finish, as a library call the CLI drives.
 * Licence: see LICENSE at the top of the repository.
 *
 * The session owns everything it creates; the CLI only parses options,
 * installs signal handlers, prints progress and the summary.  The output
 * is reached only through the sink the caller's `open_sink` returns
 * (sink.h), so the run layer never knows the file format.
 *
 *   ds_session_open    loads the scenario (with --set overrides), prepares
 *                      the model and the summaries, opens the sink;
 *   ds_session_run     runs the blocks (stoppable through opt->stop);
 *   ds_session_finish  merges what ran into the final summaries and hands
 *                      them to the sink, which writes and closes;
 *   ds_session_free    frees everything; a sink not finished is aborted.
 *
 * Resume and extend: the caller reads the file (/config, /effective_config,
 * /state, root attributes) into a ds_session_base; the session checks it
 * (format, block size, status, scenario and seed), loads the scenario from
 * the file's effective YAML, imports the saved summaries, regenerates the
 * per-trial rows of the blocks already summarized (they are a function of
 * (scenario, seed, block)) and runs the rest — so the result is
 * bit-identical to one uninterrupted run.  The new file's /config is the
 * old one verbatim.
 *
 * Errors: a scenario that cannot be loaded, or a file that cannot be
 * resumed (another scenario or seed, another format, complete, damaged), is
 * DS_ERR_SCENARIO or DS_ERR_USAGE (exit 2); everything else keeps its
 * status.
 */
#ifndef DEALSIM_SESSION_H
#define DEALSIM_SESSION_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "dealsim/config.h"
#include "dealsim/driver.h"
#include "dealsim/error.h"
#include "dealsim/model.h"
#include "dealsim/sink.h"
#include "dealsim/stats.h"

/* What a resumed or extended run starts from: read from a result file by
 * the caller (the run layer never reads files itself). */
typedef enum {
    DS_SESSION_NEW = 0,
    DS_SESSION_RESUME, /* continue an interrupted file to its requested trials */
    DS_SESSION_EXTEND  /* add trials to a complete file */
} ds_session_mode;

typedef struct {
    const char *path;        /* the file, for messages */
    const char *config;      /* its /config: the scenario file verbatim */
    const char *config_path; /* its /config path attribute, or NULL */
    const char *effective;   /* its /effective_config */
    const char *run_status;
    int format_major;
    uint64_t seed, trials, trials_requested, block_size;
    const ds_state *state;   /* its /state */
    uint64_t more;           /* EXTEND: trials to add */
} ds_session_base;

/* A target precision (--precision OUTPUT:TOL[%]): the standard error of
 * the output's mean (a probability for booleans), absolute or relative to
 * |mean|. */
typedef struct {
    ds_output output;
    double tol;
    int relative;
} ds_precision_target;

/* Global block counts at which the targets are checked: doubling from
 * DS_PRECISION_FIRST_CHECK up to DS_PRECISION_FINE_FROM (8, 16, 32, 64),
 * then DS_PRECISION_FINE_STEPS evenly spaced checks in every doubling: for
 * c in [2^k, 2^(k+1)), k >= 6, every c/8 blocks (64, 72, ..., 128, 144,
 * ..., 256, 288, ...).  A run whose targets hold from block count m >= 64 on
 * thus stops before 1.125 m; below 64 blocks, before 2 m (or at 8).  A pure
 * function of the block count, so the stopping point is the same for any
 * threads, ranks and resumes.  All three are powers of two, FIRST_CHECK <=
 * FINE_STEPS <= FINE_FROM. */
#define DS_PRECISION_FIRST_CHECK 8u
#define DS_PRECISION_FINE_FROM 64u
#define DS_PRECISION_FINE_STEPS 8u

/* The first check point strictly after `n` blocks (UINT64_MAX past the
 * last one that fits in 64 bits). */
uint64_t ds_precision_next_check(uint64_t n);

typedef struct {
    ds_session_mode mode;
    const ds_session_base *base; /* RESUME, EXTEND */
    const char *scenario_path;   /* NEW; with RESUME, optional: must match the file's */
    const char *const *sets;  /* --set KEY=VALUE overrides, in order */
    size_t n_sets;
    int threads;              /* 0: OpenMP's default */
    ds_progress_fn progress;  /* may be NULL */
    void *progress_ctx;
    atomic_int *stop;         /* may be NULL */
    ds_sink_open_fn open_sink; /* NULL: no output at all (summaries only) */
    void *sink_ctx;
    int mpi_ranks;            /* recorded in the run facts (1 for a serial run) */
    double checkpoint_every;  /* seconds between checkpoints; 0: none */
    unsigned round_blocks;    /* blocks a thread a round (0: the default, 32); rounds are
                               * where checkpoints and MPI stops happen */
    const ds_precision_target *targets; /* stop at the first check where all are met */
    size_t n_targets;
    const char *precision_text; /* the targets as the user wrote them, for the file */
    uint64_t memory_available;  /* bytes this run may use (0: unknown, no check); a run whose
                                 * memory bound (stats.h) does not fit lowers its threads, or
                                 * is refused (DS_ERR_USAGE) when one thread does not fit */
} ds_session_options;

typedef struct ds_session ds_session;

/* Loads and prepares; on failure *out is NULL and everything is freed. */
ds_status ds_session_open(const ds_session_options *opt, ds_session **out, ds_diag *diag);
/* Runs every block of the scenario's trials (or until stopped). */
ds_status ds_session_run(ds_session *s, ds_diag *diag);
/* Final summaries to the sink.  After it (success or not) the sink is gone. */
ds_status ds_session_finish(ds_session *s, ds_diag *diag);
void ds_session_free(ds_session *s); /* NULL is fine */

const ds_scenario *ds_session_scenario(const ds_session *s);
const ds_stats *ds_session_stats(const ds_session *s);
const ds_run_result *ds_session_result(const ds_session *s);
const ds_run_info *ds_session_info(const ds_session *s);
/* When the memory bound lowered the thread count: the threads asked for
 * (else 0), and the bound with the threads used. */
int ds_session_threads_lowered(const ds_session *s, int *threads, uint64_t *bound);
/* True when a resumed run was stopped while it rewrote the saved blocks'
 * rows: nothing new was written, the file being continued is unchanged. */
int ds_session_stopped_early(const ds_session *s);

#endif /* DEALSIM_SESSION_H */

/* include/dealsim/outputs.h
 * The catalogue of a trial's scalar outputs (MODEL.md section 4): the one
 * list every layer uses (the scenario loader to check output.per_trial, the
 * kernel, the summaries, the file, the CLI).
 * Licence: see LICENSE at the top of the repository.
 *
 * It lives in sim/config/outputs.c, the lowest layer that needs it (the
 * loader validates names before any model exists); model.h includes it.
 */
#ifndef DEALSIM_OUTPUTS_H
#define DEALSIM_OUTPUTS_H

/* The scalar outputs of MODEL.md section 4, in file order. */
typedef enum {
    DS_OUT_TOTAL = 0,
    DS_OUT_RAW_TOTAL,
    DS_OUT_PAID,
    DS_OUT_UNPAID,
    DS_OUT_INVESTORS_JOINED,
    DS_OUT_JOINED_MASK,
    DS_OUT_CLOSED,
    DS_OUT_TARGET_MET,
    DS_OUT_OVERSUBSCRIBED,
    DS_OUT_SHORTFALL,
    DS_OUT_HHI,
    DS_OUT_TOP_SHARE,
    DS_OUT_ROUND_TRIP,
    DS_OUT_NET_NEW,
    DS_OUT_ROUND_TRIP_SHARE,
    DS_OUT_COMPUTE_SPEND,
    DS_OUT_GPU_HOURS,
    DS_OUT_AVG_PRICE,
    DS_OUT_FINAL_PRICE,
    DS_OUT_POST_MONEY,  /* only with a valuation */
    DS_OUT_STAKE_TOTAL, /* only with a valuation */
    DS_OUT_COUNT
} ds_output;

typedef enum {
    DS_OUTTYPE_REAL = 0, /* float64, may be NaN */
    DS_OUTTYPE_BOOL,     /* 0/1: a probability in summaries; uint8 per trial */
    DS_OUTTYPE_COUNT     /* a non-negative integer; uint64 per trial */
} ds_output_type;

typedef struct {
    const char *name;      /* as in MODEL.md, e.g. "gpu_hours" */
    const char *units;     /* CF units, e.g. "USD billion", "1" */
    const char *long_name; /* one line for humans */
    ds_output_type type;
    int needs_valuation;   /* only present when round.pre_money is given */
} ds_output_info;

/* Metadata of output o (0 <= o < DS_OUT_COUNT). */
const ds_output_info *ds_output_get_info(ds_output o);
/* Finds an output by name; returns 1 and sets *o when known. */
int ds_output_from_name(const char *name, ds_output *o);

#endif /* DEALSIM_OUTPUTS_H */

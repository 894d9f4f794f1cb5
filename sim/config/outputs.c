/* sim/config/outputs.c
 * The catalogue of scalar outputs (outputs.h): names, units, descriptions,
 * types, in file order.
 * Licence: see LICENSE at the top of the repository.
 */
#include "dealsim/outputs.h"

#include <string.h>

static const ds_output_info output_info[DS_OUT_COUNT] = {
    {"total", "USD billion", "total committed after any cap (sum of a_i)", DS_OUTTYPE_REAL, 0},
    {"raw_total", "USD billion", "sum of commitments before the cap", DS_OUTTYPE_REAL, 0},
    {"paid", "USD billion", "money paid in tranches whose conditions were met", DS_OUTTYPE_REAL, 0},
    {"unpaid", "USD billion", "money of tranches whose conditions failed", DS_OUTTYPE_REAL, 0},
    {"investors_joined", "1", "number of investors who joined", DS_OUTTYPE_COUNT, 0},
    {"joined_mask", "1", "bit i-1 set when investor i joined", DS_OUTTYPE_COUNT, 0},
    {"closed", "1", "total >= minimum close (default total > 0)", DS_OUTTYPE_BOOL, 0},
    {"target_met", "1", "total >= target", DS_OUTTYPE_BOOL, 0},
    {"oversubscribed", "1", "raw total above the cap", DS_OUTTYPE_BOOL, 0},
    {"shortfall", "USD billion", "max(0, target - total)", DS_OUTTYPE_REAL, 0},
    {"hhi", "1", "Herfindahl-Hirschman index of investor shares (NaN when total = 0)",
     DS_OUTTYPE_REAL, 0},
    {"top_share", "1", "largest investor share (NaN when total = 0)", DS_OUTTYPE_REAL, 0},
    {"round_trip", "USD billion", "paid money flowing back to the investors as purchases",
     DS_OUTTYPE_REAL, 0},
    {"net_new", "USD billion", "paid minus round_trip", DS_OUTTYPE_REAL, 0},
    {"round_trip_share", "1", "round_trip / paid (NaN when paid = 0)", DS_OUTTYPE_REAL, 0},
    {"compute_spend", "USD billion", "paid money spent on compute within the horizon",
     DS_OUTTYPE_REAL, 0},
    {"gpu_hours", "1e9 GPU hours", "H100-equivalent GPU hours bought within the horizon",
     DS_OUTTYPE_REAL, 0},
    {"avg_price", "USD per GPU hour", "compute_spend / gpu_hours (NaN when 0)", DS_OUTTYPE_REAL,
     0},
    {"final_price", "USD per GPU hour", "compute price in the last month of the horizon",
     DS_OUTTYPE_REAL, 0},
    {"post_money", "USD billion", "pre-money valuation plus total", DS_OUTTYPE_REAL, 1},
    {"stake_total", "1", "total / post_money: the new investors' combined stake",
     DS_OUTTYPE_REAL, 1},
};

const ds_output_info *ds_output_get_info(ds_output o)
{
    if ((int)o < 0 || o >= DS_OUT_COUNT)
        return NULL;
    return &output_info[o];
}

int ds_output_from_name(const char *name, ds_output *o)
{
    for (int i = 0; i < DS_OUT_COUNT; ++i)
        if (strcmp(name, output_info[i].name) == 0) {
            if (o)
                *o = (ds_output)i;
            return 1;
        }
    return 0;
}

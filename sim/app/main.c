/* sim/app/main.c
 * Entry point of the `dealsim` program: starts MPI when built with it (one
 * rank otherwise), hands over to the CLI.
 * Licence: see LICENSE at the top of the repository.
 */
#include <stdio.h>

#include "cli.h"
#include "dealsim/par.h"

int main(int argc, char **argv)
{
    ds_diag diag;
    ds_diag_clear(&diag);
    if (ds_par_init(&argc, &argv, &diag) != DS_OK) {
        fprintf(stderr, "dealsim: error: %s\n", diag.msg);
        return 1;
    }
    int rc = ds_cli_main(argc, argv);
    ds_par_finalize();
    return rc;
}

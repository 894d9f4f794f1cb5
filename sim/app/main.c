/* sim/app/main.c
 * Entry point of the `dealsim` program: hands over to the CLI.
 * Licence: see LICENSE at the top of the repository.
 */
#include "cli.h"

int main(int argc, char **argv) { return ds_cli_main(argc, argv); }

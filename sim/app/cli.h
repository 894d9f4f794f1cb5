/* sim/app/cli.h
 * The `dealsim` command line (private to the program, not the library).
 * Licence: see LICENSE at the top of the repository.
 */
#ifndef DEALSIM_CLI_H
#define DEALSIM_CLI_H

/* Runs the program; returns the process exit code (0 ok, 1 runtime failure,
 * 2 usage or scenario error, 130 interrupted). */
int ds_cli_main(int argc, char **argv);

#endif /* DEALSIM_CLI_H */

/* sfu/cli.h: the operator subcommands beside the node (backup, admin). */
#ifndef SFU_CLI_H
#define SFU_CLI_H

/* Runs `sfu backup ...` or `sfu admin ...`: the process exit code (0 done,
 * 2 refused, with one line on stderr), or -1 when argv names neither and the
 * node should start. */
int sfu_cli_run(int argc, char **argv);

#endif

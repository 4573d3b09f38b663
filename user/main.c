// SPDX-License-Identifier: GPL-2.0
/*
 * lockwatch: a deadlock detector for running processes. main() only
 * sequences: the options, then the command they name, from a table
 * (cmd/cmd.h).
 */
#include <string.h>
#include "cmd/cmd.h"
#include "sys/guard.h"
#include "sys/hash.h"
#include "sys/log.h"

static const struct {
	const char *name;
	int (*run)(const struct env *env);
} commands[] = {
	{ "watch", cmd_watch },
	{ "check", cmd_check },
	{ "dump", cmd_dump },
};

int main(int argc, char **argv)
{
	struct env env;
	int status;

	if (env__parse(&env, argc, argv, &status))
		return status;
	lw_verbose = env.verbose;
	status = lw_guard_init();
	if (status)
		return status;
	lw_hash_seed_init();
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(env.command, commands[i].name))
			return lw_guard_done(commands[i].run(&env));
	lw_err("unknown command '%s'", env.command);
	return lw_guard_done(LW_EXIT_USAGE);
}

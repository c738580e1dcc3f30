/*
 * stats.c: `acctc stats`: the daemon's counters, as tables for people
 * or as OpenMetrics text for a collector (node_exporter's textfile).
 */
#include <getopt.h>
#include <stdio.h>

#include "acctc.h"

/* --json: the stats result of acctd-protocol(7) as it is. */
int
cmd_stats(struct acctc *a, int argc, char **argv)
{
	enum { OPT_OPENMETRICS = ACCTC_OPT__NEXT };
	static const struct option lopts[] = {
		{ "openmetrics", no_argument, NULL, OPT_OPENMETRICS },
		{ NULL, 0, NULL, 0 }
	};
	struct proto_reply rep;
	bool om = false;
	int ch, rc;

	while ((ch = acctc_getopt(a, argc, argv, "", lopts, &rc)) != -1)
		if (ch == OPT_OPENMETRICS)
			om = true;
	if (rc >= 0)
		return rc;
	if (optind != argc)
		return acctc_usage(a, "too many arguments");
	if (om && a->json)
		return acctc_usage(a, "--json excludes --openmetrics");
	if ((rc = acctc_call(a, OP_STATS, NULL, &rep)) == ACCTC_EXIT_OK &&
	    !acctc_json(a, &rep) &&
	    (om ? out_openmetrics(stdout, rep.result) :
	    out_stats(stdout, rep.result)) == -1) {
		acctc_warnx("out of memory");
		rc = ACCTC_EXIT_FAIL;
	}
	proto_reply_free(&rep);
	return rc;
}

/* edgesync start's progress display on a terminal: one line per edge and area, rewritten. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "edgesync.h"

bool
tty_progress_wanted(enum cc_log_format fmt, FILE *f)
{
	const char *term = getenv("TERM");

	/* JSON lines are for programs, and a file or a pipe gets no carriage returns; a dumb
	 * terminal (an editor's shell buffer) does not know the erase-line sequence */
	return fmt == CC_LOG_TEXT && isatty(fileno(f)) && term != NULL && *term != '\0' &&
	       strcmp(term, "dumb") != 0;
}

void
tty_progress_report(void *arg, const struct es_progress_view *v, bool final)
{
	FILE *f = arg;
	struct winsize ws;
	char line[512], text[256];
	int cols = 0;

	es_progress_format(v, text, sizeof(text));
	snprintf(line, sizeof(line), "%s %s: %s", v->edge, v->area, text);
	/* a line that wraps cannot be rewritten with a carriage return: cut it to the width */
	if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1)
		cols = ws.ws_col - 1;
	if (cols > 0 && (size_t)cols < strlen(line))
		line[cols] = '\0';
	/* CR, the line, then ESC [ K (erase to the end of the line: ECMA-48 EL) for what a longer
	 * previous line left; the final line of an area is kept */
	fprintf(f, "\r%s\033[K%s", line, final ? "\n" : "");
	fflush(f);
}

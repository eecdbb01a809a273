/*
 * ui: the interactive terminal, on libedit (BSD licence; see README).
 *
 * libedit runs in unbuffered mode: each time the terminal is readable,
 * ui_readable() hands it one key, so the event loop never blocks on the
 * keyboard. Incoming lines are printed above the input line with
 * ui_print(): the input rows are cleared, the text printed, and libedit
 * redraws the prompt and the half-typed line with the cursor where it was.
 */
#ifndef SHMCHAT_UI_H
#define SHMCHAT_UI_H

#include <stddef.h>

#include "complete.h"

struct ui;

/* a line was entered (without newline); NULL: end of input (Ctrl-D) */
typedef void ui_line_fn(void *arg, const char *line);
/*
 * Tab: fill c for line[0..cursor) (complete_nick); return the number of
 * matches. The callback may ui_print() the candidates.
 */
typedef size_t ui_complete_fn(void *arg, const char *line, size_t cursor,
    struct complete *c);

/* NULL with a message in err when the terminal cannot be set up */
struct ui *ui_new(const char *prog, ui_line_fn *on_line, ui_complete_fn *on_complete,
    void *arg, char *err, size_t cap);
/* restore the terminal and free everything */
void ui_free(struct ui *u);
/* the terminal is readable: process one key. 0, or -1 (read error: errno) */
int ui_readable(struct ui *u);
/* print a line (no newline) above the input line */
void ui_print(struct ui *u, const char *line);
void ui_set_prompt(struct ui *u, const char *prompt);
/* SIGWINCH */
void ui_resize(struct ui *u);
/* SIGTSTP: give the terminal back; then, once continued, take it again */
void ui_suspend(struct ui *u);
void ui_resume(struct ui *u);

#endif

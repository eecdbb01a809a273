/* privdrop: leave root after setup */
#include <config.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/msg.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "privdrop.h"

int
privdrop(const struct conf *cfg, int admin_qid, char *err, size_t errlen)
{
	const char *uname = cfg->user, *gname = cfg->group;
	struct passwd *pw;
	struct group *gr;

	if (geteuid() != 0)
		return 0;
	if ((pw = getpwnam(uname)) == NULL) {
		log_notice("user '%s' does not exist; using 'nobody'", uname);
		uname = "nobody";
		if ((pw = getpwnam(uname)) == NULL) {
			snprintf(err, errlen, "neither user '%s' nor 'nobody' exists", cfg->user);
			return -1;
		}
	}
	if ((gr = getgrnam(gname)) == NULL) {
		log_notice("group '%s' does not exist; using 'nogroup'", gname);
		gname = "nogroup";
		if ((gr = getgrnam(gname)) == NULL) {
			snprintf(err, errlen, "neither group '%s' nor 'nogroup' exists", cfg->group);
			return -1;
		}
	}
	if (pw->pw_uid == 0) {
		log_warnx("configured to keep running as root (user = \"%s\"); not advised",
		    uname);
		return 0;
	}
	uid_t uid = pw->pw_uid;
	gid_t gid = gr->gr_gid;

	/* the queue must stay ours to remove once we are no longer root */
	if (admin_qid >= 0) {
		struct msqid_ds ds;
		if (msgctl(admin_qid, IPC_STAT, &ds) == 0) {
			ds.msg_perm.uid = uid;
			if (msgctl(admin_qid, IPC_SET, &ds) < 0)
				log_warn("handing the admin queue to user %s", uname);
		}
	}
	if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
		snprintf(err, errlen, "cannot switch to user %s, group %s: %s", uname,
		    gname, strerror(errno));
		return -1;
	}
	/* make sure it stuck: root must be gone for good */
	if (setuid(0) == 0 || geteuid() == 0) {
		snprintf(err, errlen, "still root after switching to user %s", uname);
		return -1;
	}
	log_notice("running as user %s (%ld), group %s (%ld)", uname, (long)uid, gname,
	    (long)gid);
	return 0;
}

/*
 * config: shmchatd.conf (libconfig syntax) -> struct conf.
 *
 * Every setting has a built-in default, so the daemon runs with no file at
 * all. Loading validates everything (types, ranges, unknown keys) and
 * reports the first problem as "FILE:LINE: what is wrong". A reload builds a
 * fresh struct conf and swaps it in only when it loaded cleanly.
 */
#ifndef SHMCHAT_CONFIG_H
#define SHMCHAT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define CONFIG_DEFAULT_PATH SYSCONFDIR "/shmchat/shmchatd.conf"

#define CONFIG_MAX_LISTEN 16
#define CONFIG_MAX_OPERS 64
#define CONFIG_MAX_OPER_HOSTS 16

/* one oper block: who may become a server operator with OPER name password */
struct conf_oper {
	char *name;			/* OPER's first parameter (case-insensitive) */
	char *password;			/* a crypt(3) hash ("$y$...") */
	char *hosts[CONFIG_MAX_OPER_HOSTS];	/* "*!user@host" masks; none: nobody */
	int nhosts;
};

struct conf {
	/* server identity */
	char *server_name;		/* "shmchat.localhost" */
	char *network;			/* "shmchat" */
	char *description;		/* "shmchat IRC server" (WHOIS 312, LIST etc.) */
	/* where to listen when not socket-activated: "HOST:PORT", "[V6]:PORT", "*:PORT" */
	char *listen[CONFIG_MAX_LISTEN];	/* "127.0.0.1:6667", "[::1]:6667" */
	int nlisten;
	/* TLS listeners, same forms; none by default (needs tls.certificate and key) */
	char *listen_tls[CONFIG_MAX_LISTEN];	/* "0.0.0.0:6697", "[::]:6697" */
	int nlisten_tls;
	char *password;			/* NULL: no PASS required */
	char *motd;			/* inline text, may contain \n; NULL = none */
	char *motd_file;		/* path; read at load/reload; wins over motd */
	char *motd_text;		/* resolved MOTD (from motd_file or motd), NULL -> 422 */

	/* limits */
	int max_clients;		/* 1024; the shared segment is sized for it at start */
	int max_channels_per_client;	/* 20 (CHANLIMIT) */
	int nick_len;			/* 30 (NICKLEN) */
	int channel_len;		/* 50 (CHANNELLEN) */
	int topic_len;			/* 390 (TOPICLEN) */
	int away_len;			/* 200 (AWAYLEN) */
	long sendq;			/* 1048576 bytes per client */

	/* channels */
	char *default_channel_modes;	/* "nt": what a new channel starts with */
	int max_list_entries;		/* 100 bans, exceptions, invite exceptions each (MAXLIST) */

	/* timeouts, seconds */
	int registration_timeout;	/* 30 */
	int ping_interval;		/* 120: idle this long -> server sends PING */
	int ping_timeout;		/* 60: no reply this long after PING -> drop */
	int stall_timeout;		/* 10: a worker holding the shared ring this long is cut loose */

	/* shared memory */
	long ring_size;			/* 8388608 bytes of message ring */
	int inbox_size;			/* 4096 entries per client (power of two) */

	int log_level;			/* 6 = info; "err","warning","notice","info","debug" in the file */

	/* connection and flood limits; limits_exempt addresses skip both */
	int max_clients_per_ip;		/* 100; 0 = no limit */
	int flood_rate;			/* 10 lines/s refill of each client's bucket; 0 = off */
	int flood_burst;		/* 30 lines the bucket holds */
	int flood_queue;		/* 8192 bytes unread while throttled -> Excess Flood */
	char *limits_exempt[CONFIG_MAX_LISTEN];	/* "127.0.0.1", "::1" */
	int nlimits_exempt;

	/* started as root: drop to this user and group after binding */
	char *user;			/* "shmchat", or "nobody" when it does not exist */
	char *group;			/* "shmchat", or "nogroup" */

	/* admin = { queue_key = ...; group = "..."; }: shmchatctl's message queue */
	long admin_queue_key;		/* 0x53434d51; a fixed key, never ftok() */
	char *admin_group;		/* "shmchat": members may use shmchatctl */

	/* opers = ( { name = ...; password = ...; hosts = [...]; }, ... ) */
	struct conf_oper *opers;	/* NULL: nobody may become an operator */
	int nopers;
	bool oper_override;		/* false; true: operators count as channel operators everywhere */
	/* admin_info = { location; description; email; }: what the ADMIN
	 * command answers (257, 258, 259); NULL when unset */
	char *admin_location;		/* unset: the server's description */
	char *admin_description;	/* unset: "" */
	char *admin_email;		/* unset: "" */

	int whowas_history;		/* 500 nicks WHOWAS remembers; 0 = none */
	/* workers forked ahead of demand (forkserver.h): the pool keeps
	 * between min and max idle ones, more after it ran dry; 0/0: none */
	int min_spare_workers;		/* 8 */
	int max_spare_workers;		/* 64 */
	/* chat history (CHATHISTORY, the replay on JOIN): per channel or
	 * conversation, its age, all of it together; 0 lines: none */
	int history_lines;		/* 1000 */
	int history_age;		/* 604800 s (7 days); 0: no age limit */
	long history_memory;		/* 67108864 bytes */
	int chathistory_max;		/* 100 lines per CHATHISTORY (ISUPPORT) */
	int join_replay_lines;		/* 0: lines replayed on JOIN to clients
					 * without draft/chathistory */

	/*
	 * tls = { certificate; key; ciphers; min_version; sts_port;
	 * sts_duration; }: for the TLS listeners (listen_tls, or sockets named
	 * "ircs" under socket activation). The fork server loads the pair;
	 * the master only opens the files (before dropping root) and never
	 * calls OpenSSL.
	 */
	char *tls_certificate;		/* PEM, the chain after the leaf; NULL: no TLS */
	char *tls_key;			/* PEM private key; NULL: no TLS */
	char *tls_ciphers;		/* TLS 1.2 cipher list; NULL: the built-in modern list */
	int tls_min_version;		/* 0x0303 (TLSv1.2) or 0x0304 (TLSv1.3) */
	int tls_sts_port;		/* 0: the port of the first TLS listener */
	int tls_sts_duration;		/* 2592000 s advertised in the sts capability; 0: no sts */

	/*
	 * cluster = { redis; node_name; user; password; key_prefix;
	 * dead_after; max_remote_clients; log_max; }: several nodes, one
	 * network, through one Redis (docs/cluster.md). No redis: one node,
	 * and no Redis code runs. Taken at start only.
	 */
	char *cluster_redis;		/* "unix:/run/redis/redis.sock", "redis://host:port/db" */
	char *cluster_node_name;	/* this node's name, unique in the network */
	char *cluster_user;		/* Redis ACL user; NULL: none (or the URL's) */
	char *cluster_password;		/* NULL: none (or the URL's) */
	char *cluster_key_prefix;	/* "shmchat:" before every key */
	int cluster_dead_after;		/* 5 s without its lease: a node is gone */
	int cluster_max_remote_clients;	/* 65536 other nodes' clients known here */
	int cluster_log_max;		/* 100000 entries kept in the network log */
};

/* a cluster is configured */
static inline bool conf_cluster_enabled(const struct conf *c)
{ return c->cluster_redis != NULL; }

/* the wire value of "TLSv1.2" and "TLSv1.3" (OpenSSL's TLS1_2_VERSION...) */
#define CONF_TLS_1_2	0x0303
#define CONF_TLS_1_3	0x0304

/* a TLS certificate and key are configured */
static inline bool conf_tls_enabled(const struct conf *c)
{ return c->tls_certificate != NULL && c->tls_key != NULL; }

void conf_init_defaults(struct conf *c);
void conf_free(struct conf *c);

/*
 * Load path over the defaults. If the file does not exist and !must_exist,
 * the defaults stand (returns 0). On error returns -1 with a message such as
 * "/etc/shmchat/shmchatd.conf:12: max_clients must be between 1 and 1000000"
 * in err; c is then left holding the defaults (free it either way).
 */
int conf_load(struct conf *c, const char *path, bool must_exist,
    char *err, size_t errlen);
/*
 * The admin group of path over the defaults, the rest of the file parsed
 * but not checked: shmchatctl's way to find the queue while the file has a
 * mistake elsewhere (the server, asked to reload, says which). The file
 * must exist. Returns 0, or -1 with a message in err as conf_load().
 */
int conf_load_admin(struct conf *c, const char *path, char *err, size_t errlen);

/* move src's cluster settings into dst (they change only on restart) */
void conf_keep_cluster(struct conf *dst, struct conf *src);

/* human-readable list of differences ("motd, ping_timeout"), for reload logs */
void conf_diff(const struct conf *old, const struct conf *new,
    char *out, size_t outlen);

#endif

/*
 * numeric: IRC reply codes (RFC 1459/2812, Modern IRC) and their standard
 * texts, in one place for the worker and the master.
 */
#ifndef SHMCHAT_NUMERIC_H
#define SHMCHAT_NUMERIC_H

#define RPL_WELCOME		"001"
#define RPL_YOURHOST		"002"
#define RPL_CREATED		"003"
#define RPL_MYINFO		"004"
#define RPL_ISUPPORT		"005"
#define RPL_LUSERCLIENT		"251"
#define RPL_LUSEROP		"252"
#define RPL_LUSERUNKNOWN	"253"
#define RPL_LUSERCHANNELS	"254"
#define RPL_LUSERME		"255"
#define RPL_AWAY		"301"
#define RPL_USERHOST		"302"
#define RPL_ISON		"303"
#define RPL_UNAWAY		"305"
#define RPL_NOWAWAY		"306"
#define RPL_WHOISUSER		"311"
#define RPL_WHOISSERVER		"312"
#define RPL_ENDOFWHO		"315"
#define RPL_WHOISIDLE		"317"
#define RPL_ENDOFWHOIS		"318"
#define RPL_WHOISCHANNELS	"319"
#define RPL_LISTSTART		"321"
#define RPL_LIST		"322"
#define RPL_LISTEND		"323"
#define RPL_NOTOPIC		"331"
#define RPL_TOPIC		"332"
#define RPL_TOPICWHOTIME	"333"
#define RPL_VERSION		"351"
#define RPL_WHOREPLY		"352"
#define RPL_NAMREPLY		"353"
#define RPL_ENDOFNAMES		"366"
#define RPL_MOTD		"372"
#define RPL_MOTDSTART		"375"
#define RPL_ENDOFMOTD		"376"
#define RPL_TIME		"391"

#define ERR_NOSUCHNICK		"401"	/* No such nick/channel */
#define ERR_NOSUCHCHANNEL	"403"	/* No such channel */
#define ERR_CANNOTSENDTOCHAN	"404"	/* Cannot send to channel */
#define ERR_TOOMANYCHANNELS	"405"	/* You have joined too many channels */
#define ERR_NORECIPIENT		"411"	/* No recipient given (CMD) */
#define ERR_NOTEXTTOSEND	"412"	/* No text to send */
#define ERR_INPUTTOOLONG	"417"	/* Input line was too long */
#define ERR_UNKNOWNCOMMAND	"421"	/* Unknown command */
#define ERR_NOMOTD		"422"	/* MOTD File is missing */
#define ERR_NONICKNAMEGIVEN	"431"	/* No nickname given */
#define ERR_ERRONEUSNICKNAME	"432"	/* Erroneous nickname */
#define ERR_NICKNAMEINUSE	"433"	/* Nickname is already in use */
#define ERR_NOTONCHANNEL	"442"	/* You're not on that channel */
#define ERR_NOTREGISTERED	"451"	/* You have not registered */
#define ERR_NEEDMOREPARAMS	"461"	/* Not enough parameters */
#define ERR_ALREADYREGISTERED	"462"	/* You may not reregister */
#define ERR_PASSWDMISMATCH	"464"	/* Password incorrect */

#define SHMCHAT_CASEMAPPING	"rfc1459"
#define SHMCHAT_CHANTYPES	"#"

#endif

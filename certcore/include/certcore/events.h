/* Event ids (DESIGN.md, "Events"). Fixed: other parts, dashboards and the README rely on them. */
#ifndef CERTCORE_EVENTS_H
#define CERTCORE_EVENTS_H

enum cc_event_id {
	CC_EV_CERTIFICATE_IN_USE = 1000,
	CC_EV_CERTIFICATE_CHANGED = 1001,
	CC_EV_SELF_SIGNED_CERTIFICATE_CREATED = 1002,
	CC_EV_CERTIFICATE_EXPIRING = 1010,
	CC_EV_CERTIFICATE_EXPIRED = 1011,
	CC_EV_TLS_HANDSHAKE_FAILED = 1020,
	CC_EV_PEER_REJECTED = 1021,
	CC_EV_EDGE_SYNC_COMPLETED = 2000,
	CC_EV_EDGE_SYNC_FAILED = 2001,
	CC_EV_EDGE_CERTIFICATE_PIN_MISMATCH = 2002,
	CC_EV_EDGE_LEASE_ACQUIRED = 2003
};

/* "CertificateExpiring" for 1010, ...; NULL for an id not in the table. */
const char *cc_event_name(int id);

#endif

/* The event id table (README, "Events"). */
#include <stddef.h>

#include "certcore/events.h"

static const struct {
	int id;
	const char *name;
} events[] = {
        {CC_EV_CERTIFICATE_IN_USE, "CertificateInUse"},
        {CC_EV_CERTIFICATE_CHANGED, "CertificateChanged"},
        {CC_EV_SELF_SIGNED_CERTIFICATE_CREATED, "SelfSignedCertificateCreated"},
        {CC_EV_SELF_SIGNED_CERTIFICATE_RENEWED, "SelfSignedCertificateRenewed"},
        {CC_EV_CERTIFICATE_RENEWAL_FAILED, "CertificateRenewalFailed"},
        {CC_EV_CERTIFICATE_CHECK_FAILED, "CertificateCheckFailed"},
        {CC_EV_CERTIFICATE_EXPIRING, "CertificateExpiring"},
        {CC_EV_CERTIFICATE_EXPIRED, "CertificateExpired"},
        {CC_EV_TLS_HANDSHAKE_FAILED, "TlsHandshakeFailed"},
        {CC_EV_PEER_REJECTED, "PeerRejected"},
        {CC_EV_CRL_FETCHED, "CrlFetched"},
        {CC_EV_CRL_FETCH_FAILED, "CrlFetchFailed"},
        {CC_EV_EDGE_SYNC_COMPLETED, "EdgeSyncCompleted"},
        {CC_EV_EDGE_SYNC_FAILED, "EdgeSyncFailed"},
        {CC_EV_EDGE_CERTIFICATE_PIN_MISMATCH, "EdgeCertificatePinMismatch"},
        {CC_EV_EDGE_LEASE_ACQUIRED, "EdgeLeaseAcquired"},
        {CC_EV_EDGE_CREDENTIAL_ROTATED, "EdgeCredentialRotated"},
        {CC_EV_EDGE_CREDENTIAL_ROTATION_FAILED, "EdgeCredentialRotationFailed"},
        {CC_EV_CALL_ANSWERED, "CallAnswered"},
        {CC_EV_CALL_ENDED, "CallEnded"},
        {CC_EV_VOICE_MESSAGE_RECORDED, "VoiceMessageRecorded"},
        {CC_EV_MEDIA_SECURITY_FAILURE, "MediaSecurityFailure"},
        {CC_EV_VOICE_MESSAGE_SUBMITTED, "VoiceMessageSubmitted"},
        {CC_EV_VOICE_MESSAGE_DEFERRED, "VoiceMessageDeferred"},
        {CC_EV_VOICE_MESSAGE_FAILED, "VoiceMessageFailed"},
        {CC_EV_CONFIGURATION_RELOAD_FAILED, "ConfigurationReloadFailed"},
};

const char *
cc_event_name(int id)
{
	size_t i;

	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (events[i].id == id)
			return events[i].name;
	return NULL;
}

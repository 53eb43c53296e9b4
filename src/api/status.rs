//! The platform's status catalog (API.md §2): the string, the HTTP code and a default message.
//! `mandrill-email-failed` is in the platform's catalog but this route sends no email, so it
//! has no variant here.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    ActionSuccessful,
    InvalidUrl,
    InvalidToken,
    SessionExpired,
    ClientRequired,
    MissingParam,
    InvalidParam,
    ApplicationCrash,
    InvalidContentType,
    RouteNonExistent,
    NoParamsDecoded,
    InvalidEncodedParams,
    RouteNotFound,
    IdentifyRequestError,
    ServiceNotFound,
    /// Not in the platform's catalog: added by API.md §3 step 5b.
    RateLimited,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::ActionSuccessful => "action-successful",
            Status::InvalidUrl => "invalid-url",
            Status::InvalidToken => "invalid-token",
            Status::SessionExpired => "session-expired",
            Status::ClientRequired => "client-required",
            Status::MissingParam => "missing-param",
            Status::InvalidParam => "invalid-param",
            Status::ApplicationCrash => "application-crash",
            Status::InvalidContentType => "invalid-content-type",
            Status::RouteNonExistent => "route-non-existent",
            Status::NoParamsDecoded => "no-params-decoded",
            Status::InvalidEncodedParams => "invalid-encoded-params",
            Status::RouteNotFound => "route-not-found",
            Status::IdentifyRequestError => "identify-request-error",
            Status::ServiceNotFound => "service-not-found",
            Status::RateLimited => "rate-limited",
        }
    }

    pub fn http_code(self) -> u16 {
        match self {
            Status::ActionSuccessful => 200,
            Status::InvalidUrl
            | Status::MissingParam
            | Status::InvalidParam
            | Status::InvalidContentType
            | Status::NoParamsDecoded
            | Status::InvalidEncodedParams => 400,
            Status::InvalidToken | Status::SessionExpired | Status::ClientRequired => 401,
            Status::RouteNotFound => 404,
            Status::ApplicationCrash | Status::RouteNonExistent | Status::IdentifyRequestError => 500,
            Status::RateLimited => 429,
            Status::ServiceNotFound => 503,
        }
    }

    pub fn default_message(self) -> &'static str {
        match self {
            Status::ActionSuccessful => "The image was stored and saved as the list item's image.",
            Status::InvalidUrl => "The URL did not return a valid PNG or JPEG image.",
            Status::InvalidToken => "The session token is missing or invalid.",
            Status::SessionExpired => "The session has expired; please sign in again.",
            Status::ClientRequired => {
                "This user has no client, employee or liaison record; register as a client first."
            }
            Status::MissingParam => "A required parameter is missing.",
            Status::InvalidParam => "A parameter has an invalid value.",
            Status::ApplicationCrash => "An internal error occurred; please try again later.",
            Status::InvalidContentType => "The request body must be JSON (Content-Type: application/json).",
            Status::RouteNonExistent => "No route exists for this method and path.",
            Status::NoParamsDecoded => "The request body decoded, but contained no parameters.",
            Status::InvalidEncodedParams => "The request body could not be decoded as a JSON object.",
            Status::RouteNotFound => "This route is not enabled in this deployment.",
            Status::IdentifyRequestError => "An internal error occurred before the route was identified.",
            Status::ServiceNotFound => "A service this route needs is not configured in this deployment.",
            Status::RateLimited => "Too many uploads; try again in a minute.",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_contract_table() {
        let table = [
            (Status::ActionSuccessful, "action-successful", 200),
            (Status::InvalidUrl, "invalid-url", 400),
            (Status::InvalidToken, "invalid-token", 401),
            (Status::SessionExpired, "session-expired", 401),
            (Status::ClientRequired, "client-required", 401),
            (Status::MissingParam, "missing-param", 400),
            (Status::InvalidParam, "invalid-param", 400),
            (Status::ApplicationCrash, "application-crash", 500),
            (Status::InvalidContentType, "invalid-content-type", 400),
            (Status::RouteNonExistent, "route-non-existent", 500),
            (Status::NoParamsDecoded, "no-params-decoded", 400),
            (Status::InvalidEncodedParams, "invalid-encoded-params", 400),
            (Status::RouteNotFound, "route-not-found", 404),
            (Status::IdentifyRequestError, "identify-request-error", 500),
            (Status::ServiceNotFound, "service-not-found", 503),
            (Status::RateLimited, "rate-limited", 429),
        ];
        for (status, name, code) in table {
            assert_eq!(status.as_str(), name);
            assert_eq!(status.http_code(), code, "{name}");
        }
    }
}

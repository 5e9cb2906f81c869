import EasyJobsCore
import HTTPTypes

/// The contract's headers (`WireContract.Header`) as the manager's routes read them.
extension HTTPField.Name {
    static let easyJobsSecret = HTTPField.Name(WireContract.Header.secret)!
    static let easyJobsSession = HTTPField.Name(WireContract.Header.session)!
    static let easyJobsJobToken = HTTPField.Name(WireContract.Header.jobToken)!
}

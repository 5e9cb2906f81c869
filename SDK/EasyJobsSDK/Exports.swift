// Plugin authors name the descriptor type in their entry point's signature.
@_exported import CEasyJobsABI
@_exported import Logging
@_exported import EasyJobsJSON

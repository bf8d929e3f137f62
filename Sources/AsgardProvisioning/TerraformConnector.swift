// The universal terraform connector: see Provisioner in AsgardController.

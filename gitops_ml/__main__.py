from gitops_ml.cli import main

main()

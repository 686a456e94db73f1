console.log('colo: cli not wired yet');
